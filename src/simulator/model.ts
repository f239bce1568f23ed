import { createHash } from 'node:crypto';
import { directiveTokens, stripDirectives } from './faults';

/**
 * The simulator's stand-in for a language model: deterministic (same prompt, same answer), cheap,
 * and shaped like what the real task would return, so pipelines downstream get plausible input.
 */
export interface SimulatedPrompt {
  system?: string;
  prompt: string;
  /** The client asked for a JSON answer (OpenAI response_format, Cohere response_format, Gemini responseMimeType). */
  json: boolean;
}

const POSITIVE = ['good', 'great', 'excellent', 'love', 'happy', 'success', 'benefit', 'improve', 'win', 'bright', 'reliable', 'durable', 'fast', 'clear', 'helpful', 'gain'];
const NEGATIVE = ['bad', 'terrible', 'awful', 'hate', 'sad', 'failure', 'fail', 'loss', 'crash', 'broken', 'slow', 'angry', 'risk', 'poor', 'lost', 'worse'];

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function lastParagraph(text: string): string {
  const paragraphs = stripDirectives(text).split(/\n\s*\n/).map((part) => part.trim()).filter(Boolean);
  return paragraphs[paragraphs.length - 1] ?? '';
}

function sentences(text: string): string[] {
  return text.match(/[^.!?]+[.!?]+/g)?.map((sentence) => sentence.trim()) ?? (text.trim() ? [text.trim()] : []);
}

export function judgeSentiment(text: string): { label: 'positive' | 'negative' | 'neutral'; score: number } {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  const positive = words.filter((word) => POSITIVE.includes(word)).length;
  const negative = words.filter((word) => NEGATIVE.includes(word)).length;
  if (positive === negative) return { label: 'neutral', score: 0.5 };
  const label = positive > negative ? 'positive' : 'negative';
  const score = Math.round((0.5 + (0.5 * Math.abs(positive - negative)) / (positive + negative)) * 100) / 100;
  return { label, score };
}

function draft(topic: string, seed: Buffer): string {
  const openers = ['Few subjects move as quickly as', 'Teams everywhere are rethinking', 'It is worth taking a clear look at'];
  const middles = [
    'The good news is that careful design brings reliable results and a clear benefit for the people who depend on it.',
    'Progress is real, even if early attempts were slow and some projects failed before they found their footing.',
    'Experience shows that small, steady steps improve the outcome more than bold promises do.',
  ];
  const closers = [
    'Done well, it becomes a durable advantage.',
    'The risk is real, but so is the gain for those who prepare.',
    'What matters most is to start, measure and learn.',
  ];
  const pick = <T>(options: T[], byte: number): T => options[seed[byte] % options.length];
  return [
    `${pick(openers, 0)} ${topic.replace(/[.!?\s]+$/, '')}.`,
    pick(middles, 1),
    'In practice, it asks for patience, good tools and honest feedback.',
    pick(middles, 2) === pick(middles, 1) ? pick(middles, 3) : pick(middles, 2),
    pick(closers, 4),
  ].join(' ');
}

/** The simulated model's answer to a prompt. Directives in the prompt are carried into the answer. */
export function simulateCompletion({ system, prompt, json }: SimulatedPrompt): string {
  const carried = directiveTokens(prompt);
  const subject = lastParagraph(prompt);
  const instructions = `${system ?? ''}\n${prompt}`.toLowerCase();
  const withDirectives = (text: string) => [text, ...carried].join(' ');
  if (json) {
    return JSON.stringify(judgeSentiment(subject));
  }
  if (/\bsummari[sz]e\b/.test(instructions)) {
    return withDirectives(sentences(subject).slice(0, 2).join(' '));
  }
  const seed = createHash('sha256').update(prompt).digest();
  return withDirectives(draft(subject || 'this topic', seed));
}

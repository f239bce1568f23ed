import { createHash } from 'node:crypto';
import { directiveTokens, stripDirectives } from './faults';

/**
 * The simulator's stand-in for a language model: deterministic (same prompt, same answer), cheap,
 * and shaped like what the real task would return, so pipelines downstream get plausible input.
 */
export interface SimulatedImage {
  mimeType: string;
  bytes: Buffer;
}

export interface SimulatedPrompt {
  system?: string;
  prompt: string;
  /** The client asked for a JSON answer (OpenAI response_format, Cohere response_format, Gemini responseMimeType). */
  json: boolean;
  images?: SimulatedImage[];
}

const POSITIVE = [
  'good',
  'great',
  'excellent',
  'love',
  'happy',
  'success',
  'benefit',
  'improve',
  'win',
  'bright',
  'reliable',
  'durable',
  'fast',
  'clear',
  'helpful',
  'gain',
];
const NEGATIVE = ['bad', 'terrible', 'awful', 'hate', 'sad', 'failure', 'fail', 'loss', 'crash', 'broken', 'slow', 'angry', 'risk', 'poor', 'lost', 'worse'];

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function lastParagraph(text: string): string {
  const paragraphs = stripDirectives(text)
    .split(/\n\s*\n/)
    .map((part) => part.trim())
    .filter(Boolean);
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

/** Width and height from a PNG, GIF or JPEG header; undefined for anything else. */
export function imageSize(bytes: Buffer): { format: string; width: number; height: number } | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47) return { format: 'PNG', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length >= 10 && bytes.toString('ascii', 0, 3) === 'GIF') return { format: 'GIF', width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let offset = 2; offset + 9 < bytes.length;) {
      if (bytes[offset] !== 0xff) break;
      const marker = bytes[offset + 1];
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { format: 'JPEG', width: bytes.readUInt16BE(offset + 7), height: bytes.readUInt16BE(offset + 5) };
      }
      offset += 2 + bytes.readUInt16BE(offset + 2);
    }
  }
  return undefined;
}

function describeImage({ mimeType, bytes }: SimulatedImage): string {
  const size = imageSize(bytes);
  return size
    ? `The image is a ${size.width}x${size.height} ${size.format} picture (${bytes.length} bytes).`
    : `The image (${mimeType}, ${bytes.length} bytes) could not be decoded.`;
}

const LABELS_LINE = /Allowed labels: (\[.*\])/;
const SCHEMA_LINE = /JSON Schema: (\{.*\})\s*$/m;

function chooseLabel(labels: string[], subject: string): { label: string; score: number } {
  if (['positive', 'negative', 'neutral'].every((label) => labels.includes(label))) return judgeSentiment(subject);
  const text = subject.toLowerCase();
  const counts = labels.map((label) => text.split(label.toLowerCase()).length - 1);
  const best = Math.max(...counts);
  const pick = best > 0 ? counts.indexOf(best) : createHash('sha256').update(subject).digest()[0] % labels.length;
  return { label: labels[pick], score: best > 0 ? 0.9 : 0.6 };
}

/** A value that satisfies a (simple) JSON Schema, filled from the subject text. */
function sampleFromSchema(schema: Record<string, unknown>, subject: string, key = 'value'): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const words = subject.match(/[A-Za-z][A-Za-z'-]*/g) ?? [];
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, sampleFromSchema(property, subject, name)]));
    }
    case 'array':
      return [sampleFromSchema((schema.items ?? { type: 'string' }) as Record<string, unknown>, subject, key)];
    case 'number':
    case 'integer':
      return words.length;
    case 'boolean':
      return words.length > 0;
    default:
      return words.slice(0, 4).join(' ') || key;
  }
}

function structuredAnswer(system: string, subject: string): unknown {
  const labels = LABELS_LINE.exec(system);
  if (labels) return chooseLabel(JSON.parse(labels[1]) as string[], subject);
  const schema = SCHEMA_LINE.exec(system);
  if (schema) return sampleFromSchema(JSON.parse(schema[1]) as Record<string, unknown>, subject);
  return judgeSentiment(subject);
}

/** The simulated model's answer to a prompt. Directives in the prompt are carried into the answer. */
export function simulateCompletion({ system, prompt, json, images = [] }: SimulatedPrompt): string {
  const carried = directiveTokens(prompt);
  const subject = lastParagraph(prompt);
  const instructions = `${system ?? ''}\n${prompt}`.toLowerCase();
  const withDirectives = (text: string) => [text, ...carried].join(' ');
  if (json) return JSON.stringify(structuredAnswer(system ?? '', subject));
  if (images.length) return withDirectives([...images.map(describeImage), `Asked: ${subject}`].join(' '));
  if (/\bsummari[sz]e\b/.test(instructions)) {
    return withDirectives(sentences(subject).slice(0, 2).join(' '));
  }
  const seed = createHash('sha256').update(prompt).digest();
  return withDirectives(draft(subject || 'this topic', seed));
}

/**
 * The plain, non-durable way to chain the three providers: one Express route, three awaited axios
 * calls, no persistence and no retries. It sends the same wire formats, system instructions and
 * prompt templates as the classic pipeline, to the same simulator, so the only difference from
 * Chorus is durability (Temporal, worker, API).
 */
import { Agent } from 'node:http';
import axios from 'axios';
import express from 'express';

const simulatorUrl = (process.env.BENCH_SIMULATOR_URL ?? '').replace(/\/$/, '');
const keepAlive = process.env.BENCH_BASELINE_KEEPALIVE !== '0';

const http = axios.create({
  httpAgent: new Agent({ keepAlive }),
  timeout: 60_000,
  validateStatus: (status) => status >= 200 && status < 300,
});

async function chat(system: string, prompt: string): Promise<string> {
  const { data } = await http.post(`${simulatorUrl}/openai/v1/chat/completions`, {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: prompt },
    ],
  });
  return data.choices[0].message.content ?? '';
}

async function cohereChat(system: string, prompt: string): Promise<string> {
  const { data } = await http.post(`${simulatorUrl}/cohere/v2/chat`, {
    model: 'command-r-08-2024',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: prompt },
    ],
  });
  return (data.message.content as Array<{ text?: string }>).map((part) => part.text ?? '').join('');
}

async function generateJson(system: string, prompt: string): Promise<unknown> {
  const { data } = await http.post(`${simulatorUrl}/gemini/v1beta/models/gemini-2.0-flash:generateContent`, {
    systemInstruction: { parts: [{ text: system }] },
    contents: [{ role: 'user', parts: [{ text: prompt }] }],
    generationConfig: { responseMimeType: 'application/json' },
  });
  const text = (data.candidates[0].content.parts as Array<{ text?: string }>).map((part) => part.text ?? '').join('');
  return JSON.parse(text);
}

const app = express();
app.use(express.json());
app.post('/v1/classic', async (request, response) => {
  try {
    const prompt = String(request.body?.prompt ?? '');
    const draft = await chat('You are a precise, helpful writer.', `Write a short article (about 150 words) on the following topic.\n\n${prompt}`);
    const summary = await cohereChat(
      'You summarize texts faithfully and concisely, without adding facts.',
      `Summarize the following text in two sentences.\n\n${draft}`,
    );
    const sentiment = await generateJson(
      'You judge the overall sentiment of a text. Respond only with a JSON object: ' +
        '{"label": "positive" | "negative" | "neutral", "score": confidence between 0 and 1}.',
      `What is the sentiment of the following text?\n\n${summary}`,
    );
    response.json({ output: { draft, summary, sentiment } });
  } catch (error) {
    response.status(502).json({ error: (error as Error).message });
  }
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});
server.keepAliveTimeout = 65_000;
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

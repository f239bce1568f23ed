import type { PipelineDefinition } from './types';

/** The classic Chorus job: draft with OpenAI, summarize with Cohere, judge sentiment with Gemini. */
export const classicPipeline: PipelineDefinition = {
  name: 'classic',
  description: 'Draft a text with OpenAI, summarize it with Cohere, judge the sentiment with Gemini.',
  steps: [
    {
      id: 'draft',
      provider: 'openai',
      task: 'generate',
      prompt: 'Write a short article (about 150 words) on the following topic.\n\n{{input.prompt}}',
      retry: { maximumAttempts: 5 },
      timeout: { startToClose: '90s' },
    },
    {
      id: 'summary',
      provider: 'cohere',
      task: 'summarize',
      prompt: 'Summarize the following text in two sentences.\n\n{{steps.draft.text}}',
      retry: { maximumAttempts: 5 },
      timeout: { startToClose: '60s' },
    },
    {
      id: 'sentiment',
      provider: 'gemini',
      task: 'sentiment',
      prompt: 'What is the sentiment of the following text?\n\n{{steps.summary.text}}',
      retry: { maximumAttempts: 3 },
      timeout: { startToClose: '30s' },
    },
  ],
  output: {
    draft: 'steps.draft.text',
    summary: 'steps.summary.text',
    sentiment: 'steps.sentiment.data',
  },
};

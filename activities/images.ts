import { ApplicationFailure } from '@temporalio/activity';
import { isAxiosError, type AxiosInstance } from 'axios';
import type { ImageFetchSettings } from '../src/config/providers';
import { FailureType } from '../src/pipeline/failures';
import { guardedRequest } from './outbound-url';

export { isPublicAddress } from './outbound-url';

export interface InlineImage {
  mimeType: string;
  base64: string;
}

const rejected = (message: string) => ApplicationFailure.create({ type: FailureType.ImageRejected, message, nonRetryable: true });

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

/**
 * Turns a step's image reference (a `data:` URL or an http(s) URL) into inline bytes for the provider.
 * URLs are fetched here, never by the provider, with a size cap and scheme/host rules checked on
 * every connection (redirects and DNS answers included).
 */
export async function resolveImage(reference: string, http: AxiosInstance, rules: ImageFetchSettings, signal: AbortSignal): Promise<InlineImage> {
  const data = DATA_URL.exec(reference.trim());
  if (data) {
    const base64 = data[2].replace(/\s/g, '');
    if ((base64.length * 3) / 4 > rules.maxBytes) throw rejected(`the image is larger than ${rules.maxBytes} bytes`);
    return { mimeType: data[1].toLowerCase(), base64 };
  }
  const { url, config } = guardedRequest(reference, rules, (reason) => rejected(`image ${reason}`));
  try {
    const response = await http.get<ArrayBuffer>(url.toString(), {
      ...config,
      responseType: 'arraybuffer',
      maxContentLength: rules.maxBytes,
      maxRedirects: 3,
      timeout: rules.timeoutMs,
      signal,
    });
    const mimeType = String(response.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (!mimeType.startsWith('image/')) throw rejected(`the URL answered ${mimeType || 'no content type'}, not an image`);
    return { mimeType, base64: Buffer.from(response.data).toString('base64') };
  } catch (error) {
    if (error instanceof ApplicationFailure) throw error;
    const cause = isAxiosError(error) ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) throw cause;
    if (isAxiosError(error) && error.message.includes('maxContentLength')) throw rejected(`the image is larger than ${rules.maxBytes} bytes`);
    const status = isAxiosError(error) ? error.response?.status : undefined;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw rejected(`the image URL answered HTTP ${status}`);
    }
    throw ApplicationFailure.create({
      type: FailureType.ImageUnavailable,
      message: `the image could not be fetched: ${status ? `HTTP ${status}` : (error as Error).message}`,
    });
  }
}

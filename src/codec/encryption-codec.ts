import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { EncryptionSettings } from '../config/encryption';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const CIPHER = 'AES256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const text = (value: string) => new TextEncoder().encode(value);
const read = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

/**
 * AES-256-GCM payload codec: every payload Temporal stores (inputs, results, failure details) is
 * encrypted; the key ID travels in the payload's metadata so keys can be rotated.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly settings: EncryptionSettings) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.settings.keys.get(this.settings.activeKeyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        metadata: {
          encoding: text(ENCRYPTED_ENCODING),
          'encryption-cipher': text(CIPHER),
          'encryption-key-id': text(this.settings.activeKeyId),
        },
        data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (read(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = read(payload.metadata?.['encryption-key-id']) ?? '';
      const key = this.settings.keys.get(keyId);
      if (!key) throw new ValueError(`No encryption key "${keyId}" configured to decrypt this payload`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plaintext);
    });
  }
}

/** The data converter of every Chorus process: encrypted payloads and failure messages when keys are set. */
export function chorusDataConverter(settings: EncryptionSettings | undefined): DataConverter | undefined {
  if (!settings) return undefined;
  return {
    payloadCodecs: [new EncryptionCodec(settings)],
    failureConverterPath: require.resolve('./failure-converter'),
  };
}

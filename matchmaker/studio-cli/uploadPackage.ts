import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FarplayError } from '../../protocol/errors.js';
import type { PackageUploaded } from '../../protocol/matchmakerApi.js';
import type { StudioConfig } from './StudioConfig.js';
import { refusal } from './studioRequest.js';

const CHUNK = 256 * 1024;

/**
 * PUTs a package to the matchmaker (`/v1/studio/packages?sha256=…`, so it refuses a corrupted upload),
 * calling `onProgress(sent, total)` as the bytes leave. Resolves with the matchmaker's sha256 and size.
 */
export function uploadPackage(
  config: Pick<StudioConfig, 'matchmakerUrl' | 'apiKey'>,
  archive: Buffer,
  sha256: string,
  onProgress: (sent: number, total: number) => void,
): Promise<PackageUploaded> {
  const url = new URL(`/v1/studio/packages?sha256=${sha256}`, config.matchmakerUrl);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${config.apiKey}`,
        'content-type': 'application/octet-stream',
        'content-length': archive.length,
      },
      timeout: 120_000,
    });
    const unreachable = (cause: unknown) =>
      reject(
        new FarplayError('STUDIO_MATCHMAKER_UNREACHABLE', `the upload to ${config.matchmakerUrl} failed`, {
          cause,
        }),
      );
    req.once('error', unreachable);
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', unreachable);
      response.once('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(body as PackageUploaded);
        else reject(refusal(status, body));
      });
    });
    let sent = 0;
    const pump = () => {
      while (sent < archive.length) {
        const end = Math.min(archive.length, sent + CHUNK);
        const more = req.write(archive.subarray(sent, end));
        sent = end;
        onProgress(sent, archive.length);
        if (!more) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    onProgress(0, archive.length);
    pump();
  });
}

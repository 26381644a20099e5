import { readFileSync } from 'node:fs';
import { FarplayError } from '../../protocol/errors.js';

/** Options of `readNewPassphrase`. */
export interface ReadNewPassphraseOptions {
  env: Record<string, string | undefined>;
  /** --passphrase-file */
  file?: string | undefined;
  /** Standard input, for an interactive prompt when it is a terminal. */
  stdin: NodeJS.ReadStream;
  /** Where the prompt goes. */
  stderr: NodeJS.WriteStream;
}

/** Reads one line from the terminal without echoing it. */
export function prompt(
  stdin: NodeJS.ReadStream,
  stderr: NodeJS.WriteStream,
  question: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          done();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          done();
          reject(new FarplayError('OPERATOR_NO_PASSPHRASE', 'cancelled'));
          return;
        }
        if (char === '\u007f') value = value.slice(0, -1);
        else value += char;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/**
 * The passphrase for new keystores: FARPLAY_EDGE_KEYSTORE_PASSPHRASE, else the first line of --passphrase-file,
 * else asked twice on the terminal. At least 8 characters.
 */
export async function readNewPassphrase(options: ReadNewPassphraseOptions): Promise<string> {
  let passphrase = options.env.FARPLAY_EDGE_KEYSTORE_PASSPHRASE;
  if (!passphrase && options.file) passphrase = readFileSync(options.file, 'utf8').split(/\r?\n/)[0];
  if (!passphrase && options.stdin.isTTY) {
    passphrase = await prompt(options.stdin, options.stderr, 'Passphrase for the new keys: ');
    const again = await prompt(options.stdin, options.stderr, 'Again: ');
    if (again !== passphrase) throw new FarplayError('OPERATOR_NO_PASSPHRASE', 'the two passphrases differ');
  }
  if (!passphrase) throw new FarplayError('OPERATOR_NO_PASSPHRASE');
  if (passphrase.length < 8)
    throw new FarplayError('OPERATOR_NO_PASSPHRASE', 'the passphrase needs at least 8 characters');
  return passphrase;
}

import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { QosOutboxEntry, QosOutboxJournal } from '../../protocol/QosOutbox.js';
import type { SignedQosReport } from '../../protocol/qosReport.js';

/** What an earlier process queued for one session and its checkers did not all take. */
export interface RecoveredOutbox {
  /** The edge's session id. */
  sessionId: string;
  /** The session's on-chain billing id (the one its queued reports name). */
  billingId: `0x${string}`;
  checkers: string[];
  /** In the order they were queued, per checker. */
  entries: QosOutboxEntry[];
}

/** A report queued: key, session, checkers, the signed report. */
interface QueuedRecord {
  q: number;
  s: string;
  c: string[];
  r: SignedQosReport;
}
/** A report no longer owed to one checker. */
interface DoneRecord {
  d: number;
  c: string;
}

/** Once nothing is owed, a file that grew past this is emptied. */
const TRUNCATE_BYTES = 64 * 1024;

/**
 * The edge's QoS outbox on disk: one small append-only file of JSON lines — a line per report queued (its session,
 * checkers and the signed report) and a line per report a checker took or refused for good — so a restarted (or
 * crashed) edge resends, in order, every report a checker has not taken. `open` reads it back and rewrites it with
 * only what is still owed; while the edge runs it is emptied whenever nothing is owed and it has grown.
 */
export class QosOutboxFile {
  readonly path: string;
  readonly #fd: number;
  readonly #owed = new Map<number, Set<string>>();
  #nextKey: number;
  #bytes = 0;
  #closed = false;

  private constructor(path: string, fd: number, nextKey: number) {
    this.path = path;
    this.#fd = fd;
    this.#nextKey = nextKey;
  }

  /** Opens `path` (creating its folder) and recovers what earlier processes still owed, session by session. */
  static open(path: string): { file: QosOutboxFile; recovered: RecoveredOutbox[] } {
    mkdirSync(dirname(path), { recursive: true });
    const records = new Map<number, { s: string; c: string[]; owed: Set<string>; r: SignedQosReport }>();
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line === '') continue;
        let record: QueuedRecord | DoneRecord;
        try {
          record = JSON.parse(line) as QueuedRecord | DoneRecord;
        } catch {
          continue; // a line torn by a crash mid-write: the report was queued but never half-sent
        }
        if ('q' in record)
          records.set(record.q, { s: record.s, c: record.c, owed: new Set(record.c), r: record.r });
        else records.get(record.d)?.owed.delete(record.c);
      }
    }
    const keys = [...records.keys()].sort((a, b) => a - b);
    const sessions = new Map<string, RecoveredOutbox>();
    const kept: string[] = [];
    for (const key of keys) {
      const record = records.get(key);
      if (record === undefined || record.owed.size === 0) continue;
      let session = sessions.get(record.s);
      if (session === undefined) {
        session = {
          sessionId: record.s,
          billingId: record.r.link.report.sessionId as `0x${string}`,
          checkers: [...record.c],
          entries: [],
        };
        sessions.set(record.s, session);
      }
      for (const checker of record.c) {
        if (!session.checkers.includes(checker)) session.checkers.push(checker);
        if (record.owed.has(checker)) session.entries.push({ checker, key, report: record.r });
      }
      kept.push(
        JSON.stringify({ q: key, s: record.s, c: [...record.owed], r: record.r } satisfies QueuedRecord),
      );
    }
    // Rewritten whole (a new file renamed over the old: a crash leaves one or the other), then appended to.
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, kept.length > 0 ? `${kept.join('\n')}\n` : '', { mode: 0o600 });
    renameSync(tmp, path);
    const file = new QosOutboxFile(path, openSync(path, 'a', 0o600), (keys.at(-1) ?? 0) + 1);
    for (const session of sessions.values())
      for (const entry of session.entries) file.#owe(entry.key, entry.checker);
    return { file, recovered: [...sessions.values()] };
  }

  #owe(key: number, checker: string): void {
    let owed = this.#owed.get(key);
    if (owed === undefined) {
      owed = new Set();
      this.#owed.set(key, owed);
    }
    owed.add(checker);
  }

  #append(record: QueuedRecord | DoneRecord): void {
    if (this.#closed) return;
    const line = `${JSON.stringify(record)}\n`;
    writeSync(this.#fd, line);
    this.#bytes += line.length;
  }

  /** The journal of one session's outbox. */
  journal(sessionId: string): QosOutboxJournal {
    return {
      queued: (report, checkers) => {
        const key = this.#nextKey++;
        for (const checker of checkers) this.#owe(key, checker);
        this.#append({ q: key, s: sessionId, c: [...checkers], r: report });
        return key;
      },
      done: (key, checker) => {
        const owed = this.#owed.get(key);
        if (owed === undefined || !owed.delete(checker)) return;
        if (owed.size === 0) this.#owed.delete(key);
        this.#append({ d: key, c: checker });
        if (this.#owed.size === 0 && this.#bytes > TRUNCATE_BYTES && !this.#closed) {
          ftruncateSync(this.#fd, 0);
          this.#bytes = 0;
        }
      },
    };
  }

  /** Reports queued and not yet taken by every checker. */
  get owed(): number {
    return this.#owed.size;
  }

  /** Closes the file (idempotent); what is owed stays in it for the next start. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

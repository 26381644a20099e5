import { Redis } from 'ioredis';
import type { Hex } from 'viem';
import {
  type AppendResult,
  type ChainHead,
  type CheckerSessionRecord,
  type CheckerStore,
  type DueMinute,
  type StoredReport,
  ZERO_HASH,
} from './CheckerStore.js';

export interface RedisStoreOptions {
  /** redis:// URL (default redis://127.0.0.1:6379). */
  url?: string;
  /** Prefix of every key (default 'farplay:ck:'); one prefix per checker identity. */
  keyPrefix?: string;
  /** Connection errors (ioredis reconnects by itself). Default: ignored. */
  onError?: (error: Error) => void;
}

// Keys of one session s: <p>s:<s> hash {json, billable, exp, h0, h1} · <p>r:<s> reports hash {"m:role" → json,
// "m:role:h" → link hash, "m:role:l" → late} · <p>v:<s> verdicts hash {m → json} · <p>a:<s> attestations hash
// {minutes → signature} · <p>c:<s> contradictions list · <p>p:<s> probes list. Deadlines of all sessions: <p>deadlines zset.

/** KEYS: session. ARGV: recordJson, grantHash, expiresAt. */
const OPEN = `
local cur = redis.call('HGET', KEYS[1], 'gh')
if cur then
  if cur == ARGV[2] then return 'exists' end
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'gh', ARGV[2], 'billable', 0, 'exp', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 'ok'`;

/**
 * KEYS: session, reports, verdicts, deadlines. ARGV: role, minute, hash, prev, json, deadlineAt, member, zeroHash.
 * Chain check, store, head move and deadline in one step.
 */
const APPEND = `
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp then return {'unknown'} end
local f = ARGV[2] .. ':' .. ARGV[1]
local existing = redis.call('HGET', KEYS[2], f .. ':h')
if existing then
  if existing == ARGV[3] then return {'replay'} end
  return {'equivocation', redis.call('HGET', KEYS[2], f), existing}
end
local head = redis.call('HGET', KEYS[1], 'h' .. ARGV[1])
if head then
  local sep = string.find(head, '|', 1, true)
  if ARGV[4] ~= string.sub(head, sep + 1) or tonumber(ARGV[2]) <= tonumber(string.sub(head, 1, sep - 1)) then
    return {'broken', head}
  end
elseif ARGV[4] ~= ARGV[8] then
  return {'broken', ''}
end
redis.call('HSET', KEYS[1], 'h' .. ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('HSET', KEYS[2], f, ARGV[5], f .. ':h', ARGV[3])
redis.call('PEXPIREAT', KEYS[2], exp)
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], f .. ':l', 1)
  return {'late'}
end
local of = ARGV[2] .. ':' .. (1 - tonumber(ARGV[1]))
local other = redis.call('HGET', KEYS[2], of)
if other then return {'complete', other, redis.call('HGET', KEYS[2], of .. ':h')} end
redis.call('ZADD', KEYS[4], 'NX', ARGV[6], ARGV[7])
return {'pending'}`;

/** KEYS: session, verdicts, deadlines. ARGV: minute, json, billable (1/0), member, maxMinutes. */
const DECIDE = `
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp then return {0, 0, 0} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'billable')), 0}
end
redis.call('PEXPIREAT', KEYS[2], exp)
redis.call('ZREM', KEYS[3], ARGV[4])
local count = tonumber(redis.call('HGET', KEYS[1], 'billable'))
if ARGV[3] == '1' and count < tonumber(ARGV[5]) then
  return {1, redis.call('HINCRBY', KEYS[1], 'billable', 1), 1}
end
return {1, count, 0}`;

/** KEYS: deadlines. ARGV: now, limit. */
const CLAIM = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do redis.call('ZREM', KEYS[1], m) end
return due`;

/** KEYS: session, target. ARGV: field or '' (list push), value. */
const PUT = `
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp then return 0 end
if ARGV[1] == '' then redis.call('RPUSH', KEYS[2], ARGV[2]) else redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
redis.call('PEXPIREAT', KEYS[2], exp)
return 1`;

type Commands = {
  ckOpen(...args: (string | number)[]): Promise<string>;
  ckAppend(...args: (string | number)[]): Promise<string[]>;
  ckDecide(...args: (string | number)[]): Promise<number[]>;
  ckClaim(...args: (string | number)[]): Promise<string[]>;
  ckPut(...args: (string | number)[]): Promise<number>;
};

function defineCommands(redis: Redis): Redis & Commands {
  redis.defineCommand('ckOpen', { numberOfKeys: 1, lua: OPEN });
  redis.defineCommand('ckAppend', { numberOfKeys: 4, lua: APPEND });
  redis.defineCommand('ckDecide', { numberOfKeys: 3, lua: DECIDE });
  redis.defineCommand('ckClaim', { numberOfKeys: 1, lua: CLAIM });
  redis.defineCommand('ckPut', { numberOfKeys: 2, lua: PUT });
  return redis as Redis & Commands;
}

function parseHead(head: string): ChainHead | null {
  const sep = head.indexOf('|');
  if (sep < 0) return null;
  return { minute: Number(head.slice(0, sep)), hash: head.slice(sep + 1) as Hex };
}

/** The Redis checker store: atomic Lua scripts; keys expire with their session. */
export function createRedisStore(options: RedisStoreOptions = {}): CheckerStore {
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const p = options.keyPrefix ?? 'farplay:ck:';
  const redis = defineCommands(new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true }));
  redis.on('error', options.onError ?? (() => {}));
  let closed = false;
  const id = (sessionId: Hex) => sessionId.toLowerCase();
  const k = {
    session: (s: Hex) => `${p}s:${id(s)}`,
    reports: (s: Hex) => `${p}r:${id(s)}`,
    verdicts: (s: Hex) => `${p}v:${id(s)}`,
    attestations: (s: Hex) => `${p}a:${id(s)}`,
    contradictions: (s: Hex) => `${p}c:${id(s)}`,
    probes: (s: Hex) => `${p}p:${id(s)}`,
    deadlines: `${p}deadlines`,
  };
  const member = (s: Hex, minute: number) => `${id(s)}|${minute}`;
  const report = (role: number, minute: number, json: string, hash: string): StoredReport => ({
    role: role as 0 | 1,
    minute,
    hash: hash as Hex,
    json,
  });

  return {
    kind: 'redis',
    async openSession(record) {
      const r = await redis.ckOpen(
        k.session(record.sessionId),
        JSON.stringify(record),
        record.grantHash.toLowerCase(),
        record.expiresAt,
      );
      return r as 'ok' | 'exists' | 'conflict';
    },
    async getSession(sessionId) {
      const [json, billable] = await redis.hmget(k.session(sessionId), 'json', 'billable');
      if (json === null || json === undefined) return null;
      return { record: JSON.parse(json) as CheckerSessionRecord, billableMinutes: Number(billable ?? 0) };
    },
    async appendReport(sessionId, r, prev, deadlineAt): Promise<AppendResult> {
      const out = await redis.ckAppend(
        k.session(sessionId),
        k.reports(sessionId),
        k.verdicts(sessionId),
        k.deadlines,
        r.role,
        r.minute,
        r.hash.toLowerCase(),
        prev.toLowerCase(),
        r.json,
        deadlineAt,
        member(sessionId, r.minute),
        ZERO_HASH,
      );
      switch (out[0]) {
        case 'pending':
        case 'replay':
        case 'late':
        case 'unknown':
          return { kind: out[0] };
        case 'equivocation':
          return { kind: 'equivocation', existing: report(r.role, r.minute, out[1] ?? '', out[2] ?? '') };
        case 'broken':
          return { kind: 'broken', head: parseHead(out[1] ?? '') };
        default:
          return { kind: 'complete', other: report(1 - r.role, r.minute, out[1] ?? '', out[2] ?? '') };
      }
    },
    async minuteReports(sessionId, minute) {
      const [e, eh, pl, ph] = await redis.hmget(
        k.reports(sessionId),
        `${minute}:0`,
        `${minute}:0:h`,
        `${minute}:1`,
        `${minute}:1:h`,
      );
      const out: { edge?: StoredReport; player?: StoredReport } = {};
      if (e && eh) out.edge = report(0, minute, e, eh);
      if (pl && ph) out.player = report(1, minute, pl, ph);
      return out;
    },
    async decideMinute(sessionId, minute, verdictJson, billable, maxMinutes) {
      const [decided, count, counted] = await redis.ckDecide(
        k.session(sessionId),
        k.verdicts(sessionId),
        k.deadlines,
        minute,
        verdictJson,
        billable ? 1 : 0,
        member(sessionId, minute),
        maxMinutes,
      );
      return { decided: decided === 1, billableMinutes: Number(count ?? 0), counted: counted === 1 };
    },
    async claimDue(now, limit): Promise<DueMinute[]> {
      const due = await redis.ckClaim(k.deadlines, now, limit);
      return due.map((m) => {
        const [sessionId, minute] = m.split('|') as [string, string];
        return { sessionId: sessionId as Hex, minute: Number(minute) };
      });
    },
    async putAttestation(sessionId, minutes, signature) {
      await redis.ckPut(k.session(sessionId), k.attestations(sessionId), String(minutes), signature);
    },
    async getAttestation(sessionId, minutes) {
      if (minutes !== undefined) {
        const signature = await redis.hget(k.attestations(sessionId), String(minutes));
        return signature === null ? null : { minutes, signature: signature as Hex };
      }
      const all = await redis.hgetall(k.attestations(sessionId));
      const top = Math.max(-1, ...Object.keys(all).map(Number));
      const signature = all[String(top)];
      return signature === undefined ? null : { minutes: top, signature: signature as Hex };
    },
    async putContradiction(sessionId, json) {
      await redis.ckPut(k.session(sessionId), k.contradictions(sessionId), '', json);
    },
    async putProbe(sessionId, json) {
      await redis.ckPut(k.session(sessionId), k.probes(sessionId), '', json);
    },
    async probes(sessionId) {
      return redis.lrange(k.probes(sessionId), 0, -1);
    },
    async evidence(sessionId) {
      const [session, reports, verdicts, attestations, contradictions, probes] = await Promise.all([
        this.getSession(sessionId),
        redis.hgetall(k.reports(sessionId)),
        redis.hgetall(k.verdicts(sessionId)),
        redis.hgetall(k.attestations(sessionId)),
        redis.lrange(k.contradictions(sessionId), 0, -1),
        redis.lrange(k.probes(sessionId), 0, -1),
      ]);
      if (session === null) return null;
      const list: (StoredReport & { late: boolean })[] = [];
      for (const [field, json] of Object.entries(reports)) {
        const m = /^(\d+):([01])$/.exec(field);
        if (m === null) continue;
        list.push({
          ...report(Number(m[2]), Number(m[1]), json, reports[`${field}:h`] ?? ''),
          late: reports[`${field}:l`] !== undefined,
        });
      }
      list.sort((a, b) => a.minute - b.minute || a.role - b.role);
      return {
        session: session.record,
        billableMinutes: session.billableMinutes,
        reports: list,
        verdicts: Object.entries(verdicts)
          .map(([minute, json]) => ({ minute: Number(minute), json }))
          .sort((a, b) => a.minute - b.minute),
        attestations: Object.entries(attestations)
          .map(([minutes, signature]) => ({ minutes: Number(minutes), signature: signature as Hex }))
          .sort((a, b) => a.minutes - b.minutes),
        contradictions,
        probes,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

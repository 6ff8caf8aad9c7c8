// Job records in Redis. A record is `{"tenant", "data": Job, "lease"?}` at redisKeys().job(id) (the
// format of redis.ts), indexed per tenant by creation time. The epoch history lives in a list
// beside it (`…:history`, one JSON entry per epoch), so recording an epoch appends one entry instead
// of rewriting a record that grows with every epoch. Every change is a compare-and-set on a
// revision counter (`…:rev`), so the API (cancel) and any number of workers (progress, success)
// never overwrite each other's writes, and a worker whose attempt was superseded cannot write at
// all. The lease names the attempt that may write training results.
import type { JobEventBus, JobLease, JobMutation, JobStore, StoredJob, TenantId } from '../domain/ports.js';
import { isTerminal } from '../domain/lifecycle.js';
import { DependencyUnavailableError } from '../domain/errors.js';
import { jobListFilter, type EpochEntry, type Job, type Model } from '../domain/schemas.js';
import type { JobEvent } from '../domain/services.js';
import { jobCommands } from './commands/index.js';
import { createRecordStore, setMembers, updateWithRetries } from './record-store.js';
import { redisKeys, type Redis } from './redis.js';

interface Envelope {
  tenant: string;
  /** history is kept in its own list; the record holds [] */
  data: Job;
  lease?: JobLease | null;
}

const MAX_CAS_RETRIES = 50;
const SUBSCRIBE_TIMEOUT_MS = 3000;
/** How long the shared subscriber connection stays open with no subscription left. */
const SUBSCRIBER_IDLE_MS = 2000;

export interface JobStoreOptions {
  redis: Redis;
  prefix: string;
}

/** How the next history relates to the current one: unchanged, extended at the end, or different. */
function historyChange(current: EpochEntry[], next: EpochEntry[]): '' | 'append' | 'replace' {
  if (next === current) return '';
  if (next.length < current.length) return 'replace';
  for (let i = 0; i < current.length; i++) {
    if (next[i] !== current[i] && JSON.stringify(next[i]) !== JSON.stringify(current[i])) return 'replace';
  }
  return next.length === current.length ? '' : 'append';
}

/** The job store plus what only the worker's reconciler needs. */
export interface RedisJobStore extends JobStore {
  /** Ids of every queued or running job, all tenants (the set changes with each status write). */
  activeIds(): Promise<string[]>;
  /**
   * The outbox of ended jobs: ids of jobs that ended at or before `endedBefore` (ms since the epoch)
   * and whose end was not yet announced (webhook event, search step), oldest first, at most `limit`.
   * A job joins it in the same atomic write that ends it (job-cas-8.lua).
   */
  unannounced(endedBefore: number, limit: number): Promise<string[]>;
  /** Takes a job out of the outbox once its end was announced. */
  markAnnounced(id: string): Promise<void>;
}

/** Every key of the job store under `prefix` (beside the records of redis.ts). */
function jobKeys(prefix: string) {
  const keys = redisKeys(prefix);
  return {
    ...keys,
    rev: (id: string) => `${keys.job(id)}:rev`,
    history: (id: string) => `${keys.job(id)}:history`,
    active: (tenant: string) => `${keys.jobs(tenant)}:active`,
    /** Queued and running jobs of every tenant, for the worker's reconciler. */
    allActive: `${prefix}:jobs:active`,
    /** Ended jobs whose end is still to be announced (the outbox), scored by when they ended. */
    unannounced: `${prefix}:jobs:unannounced`,
  };
}
type JobKeys = ReturnType<typeof jobKeys>;
interface JobRedis {
  redis: Redis;
  k: JobKeys;
  commands: ReturnType<typeof jobCommands>;
}

const parseHistory = (raw: string[]): EpochEntry[] => raw.map((e) => JSON.parse(e) as EpochEntry);

/** The record with its revision and history, read in one transaction so they belong together. */
async function readJob({ redis, k }: JobRedis, id: string): Promise<(StoredJob & { rev: string }) | null> {
  const out = await redis.multi().get(k.job(id)).get(k.rev(id)).lrange(k.history(id), 0, -1).exec();
  if (!out) throw new Error(`job ${id}: read transaction aborted`);
  for (const [err] of out) if (err) throw err;
  const raw = out[0][1] as string | null;
  if (raw == null) return null;
  const env = JSON.parse(raw) as Envelope;
  const history = parseHistory(out[2][1] as string[]);
  // progress.epoch is the length of the history: appends move it without rewriting the record.
  const job = { ...env.data, history, progress: { ...env.data.progress, epoch: history.length } };
  return { tenant: env.tenant, job, lease: env.lease ?? null, rev: (out[1][1] as string | null) ?? '0' };
}

/** Writes `next` if the revision is still `current`'s (job-cas-8.lua); false when someone wrote first. */
async function casJob(
  { k, commands }: JobRedis,
  id: string,
  current: StoredJob & { rev: string },
  next: { job: Job; lease: JobLease | null },
  model?: Model,
): Promise<boolean> {
  const env: Envelope = { tenant: current.tenant, data: { ...next.job, history: [] }, lease: next.lease };
  const wasActive = !isTerminal(current.job);
  const nowActive = !isTerminal(next.job);
  const active = wasActive === nowActive ? '' : nowActive ? '1' : '0';
  const change = historyChange(current.job.history, next.job.history);
  const pushed =
    change === 'append'
      ? next.job.history.slice(current.job.history.length)
      : change === 'replace'
        ? next.job.history
        : [];
  const argv = [current.rev, JSON.stringify(env), id, active, change];
  // Without a model, the model keys are never touched (the script writes them only for a model id).
  let modelKeys: [string, string] = [k.job(id), k.job(id)];
  if (model) {
    modelKeys = [k.model(model.id), k.models(current.tenant)];
    argv.push(
      JSON.stringify({ tenant: current.tenant, data: model }),
      String(Date.parse(model.createdAt)),
      model.id,
    );
  } else {
    argv.push('', '', '');
  }
  argv.push(...pushed.map((e) => JSON.stringify(e)));
  const keyList = [k.job(id), k.rev(id), k.active(current.tenant), k.history(id), k.allActive] as const;
  return (await commands.jobCas([...keyList, ...modelKeys, k.unannounced], argv)) === 1;
}

/** Creates the record unless the tenant has maxActive unfinished jobs (0: no cap); false then. */
async function createJob(
  { k, commands }: JobRedis,
  tenant: TenantId,
  job: Job,
  maxActive = 0,
): Promise<boolean> {
  if (job.history.length > 0) throw new Error('a new job has no history');
  const env: Envelope = { tenant, data: job, lease: null };
  const out = await commands.jobCreate(
    [k.job(job.id), k.rev(job.id), k.active(tenant), k.jobs(tenant), k.history(job.id), k.allActive],
    [JSON.stringify(env), job.id, String(Date.parse(job.createdAt)), String(maxActive)],
  );
  return out === 1;
}

/** Fills in the history lists of jobs read through the generic record store. */
async function withHistory({ redis, k }: JobRedis, jobs: Job[]): Promise<Job[]> {
  if (jobs.length === 0) return jobs;
  const pipe = redis.pipeline();
  for (const j of jobs) pipe.lrange(k.history(j.id), 0, -1);
  const out = (await pipe.exec()) ?? [];
  return jobs.map((j, i) => {
    const [err, raw] = out[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    const history = parseHistory(raw as string[]);
    return { ...j, history, progress: { ...j.progress, epoch: history.length } };
  });
}

/** Appends epochs under the attempt's lease token, each once (job-append-epochs-3.lua). */
async function appendJobEpochs({ k, commands }: JobRedis, id: string, token: string, entries: EpochEntry[]) {
  const args = entries.flatMap((e) => [String(e.epoch), JSON.stringify(e)]);
  const [owned, cancel, added] = await commands.jobAppendEpochs(
    [k.job(id), k.rev(id), k.history(id)],
    token,
    args,
  );
  // Entries are taken in order from the first that follows the recorded history.
  const first = entries.length - added;
  return { owned: owned === 1, cancelRequested: cancel === 1, appended: entries.slice(first) };
}

export function createRedisJobStore({ redis, prefix }: JobStoreOptions): RedisJobStore {
  const k = jobKeys(prefix);
  const ctx: JobRedis = { redis, k, commands: jobCommands(redis) };
  const records = createRecordStore<Job>({ redis, recordKey: k.job, indexKey: k.jobs });
  const read = (id: string) => readJob(ctx, id);
  const create = (tenant: TenantId, job: Job, maxActive = 0) => createJob(ctx, tenant, job, maxActive);

  return {
    async create(tenant, job) {
      await create(tenant, job);
    },

    createWithinCap: (tenant, job, maxActive) => create(tenant, job, maxActive),

    async get(tenant, id) {
      const stored = await read(id);
      return stored && stored.tenant === tenant ? stored.job : null;
    },

    async read(id) {
      const stored = await read(id);
      return stored && { tenant: stored.tenant, job: stored.job, lease: stored.lease };
    },

    update: (id, mutate: JobMutation, model?: Model) =>
      updateWithRetries(
        `job ${id}`,
        () => read(id),
        mutate,
        (current, next) => casJob(ctx, id, current, next, model),
        MAX_CAS_RETRIES,
      ),

    async remove(tenant, id) {
      await redis
        .multi()
        .del(k.job(id), k.rev(id), k.history(id))
        .srem(k.active(tenant), id)
        .srem(k.allActive, id)
        .zrem(k.jobs(tenant), id)
        .zrem(k.unannounced, id)
        .exec();
    },

    unannounced: (endedBefore, limit) =>
      redis.zrangebyscore(k.unannounced, '-inf', endedBefore, 'LIMIT', 0, limit),

    async markAnnounced(id) {
      await redis.zrem(k.unannounced, id);
    },

    async activeJobs(tenant) {
      const ids = await redis.smembers(k.active(tenant));
      const jobs = await Promise.all(ids.map((id) => records.get(tenant, id)));
      return jobs.filter((job): job is Job => job !== null && !isTerminal(job));
    },

    activeIds: () => setMembers(redis, k.allActive),

    appendEpochs: (id, token, entries) => appendJobEpochs(ctx, id, token, entries),

    // The generic record store reads the same format; its cursors are the ones every list uses.
    async list(tenant, query) {
      const page = await records.list(tenant, {
        limit: query.limit,
        cursor: query.cursor,
        filter: jobListFilter(query),
      });
      return { data: await withHistory(ctx, page.data), nextCursor: page.nextCursor };
    },
  };
}

/** Job events over Redis pub/sub: one channel per job, so the API and the workers may be different processes. */
export function createRedisJobEventBus({ redis, prefix }: JobStoreOptions): JobEventBus {
  const keys = redisKeys(prefix);
  const subscriber = createSharedSubscriber(redis);
  return {
    async publish(jobId, event) {
      await redis.publish(keys.events(jobId), JSON.stringify(event));
    },
    subscribe: (jobId, onEvent) => subscriber.subscribe(keys.events(jobId), onEvent),
  };
}

type EventHandler = (event: JobEvent | { type: 'cancel' }) => void;

/**
 * One subscribed connection for every subscription of this process (a subscribed connection can
 * issue no other command), so following a job costs a SUBSCRIBE, not a new connection. It connects
 * on the first subscription and quits once none has been left for SUBSCRIBER_IDLE_MS.
 */
function createSharedSubscriber(redis: Redis) {
  const handlers = new Map<string, Set<EventHandler>>();
  let sub: Redis | null = null;
  let idle: NodeJS.Timeout | undefined;

  function connection(): Redis {
    clearTimeout(idle);
    if (sub) return sub;
    const conn = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: true });
    conn.on('error', () => {}); // reconnects (and resubscribes) by itself; readers see no events meanwhile
    conn.on('message', (channel: string, message: string) => {
      const set = handlers.get(channel);
      if (!set) return;
      let event: JobEvent | { type: 'cancel' };
      try {
        event = JSON.parse(message) as JobEvent | { type: 'cancel' };
      } catch {
        return; // a malformed message is ignored: only this service publishes on the channel
      }
      for (const handler of set) handler(event);
    });
    return (sub = conn);
  }

  function quitWhenIdle() {
    if (handlers.size > 0 || !sub) return;
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (handlers.size > 0 || !sub) return;
      const conn = sub;
      sub = null;
      conn.quit().catch(() => conn.disconnect());
    }, SUBSCRIBER_IDLE_MS);
  }

  return {
    async subscribe(channel: string, onEvent: EventHandler): Promise<() => Promise<void>> {
      const conn = connection();
      const handler: EventHandler = (event) => onEvent(event);
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      const unsubscribe = async () => {
        const current = handlers.get(channel);
        if (!current?.delete(handler) || current.size > 0) return;
        handlers.delete(channel);
        quitWhenIdle();
        // Not awaited: while Redis is away the command waits in the offline queue (the handler is gone already).
        conn.unsubscribe(channel).catch(() => undefined);
      };
      // A reconnecting client would wait for Redis forever; a stream that cannot start should fail.
      // SUBSCRIBE again even when the channel is already on: its answer shows Redis is there.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`subscribe got no answer within ${SUBSCRIBE_TIMEOUT_MS} ms`)),
          SUBSCRIBE_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([conn.subscribe(channel), timeout]);
      } catch (err) {
        // Subscribing fails only for want of Redis.
        await unsubscribe();
        throw new DependencyUnavailableError('redis', err);
      } finally {
        clearTimeout(timer);
      }
      return unsubscribe;
    },
  };
}

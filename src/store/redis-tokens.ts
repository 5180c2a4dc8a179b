/**
 * API tokens in the Redis store: one hash field per token name (`{meridian}:tokens`). Writes wait
 * for replicas like config commits (durable.ts) and tell every node through the change channel.
 * @module
 */
import type { ReplicaWait } from '../redis/durable.js';
import type { RedisClient } from '../redis/client.js';
import type { Logger } from '../obs/log.js';
import { parseTokenRecord } from './records.js';
import type { TokenRecord, TokenStore } from './types.js';

export class RedisTokens implements TokenStore {
  constructor(
    private readonly cmd: RedisClient,
    private readonly durable: ReplicaWait,
    private readonly key: string,
    private readonly log: Logger | undefined,
    private readonly changed: () => Promise<void>,
  ) {}

  async list(): Promise<TokenRecord[]> {
    const out: TokenRecord[] = [];
    for (const [name, json] of Object.entries(await this.cmd.hgetall(this.key))) {
      try {
        out.push(parseTokenRecord(JSON.parse(json), `config store: ${this.key}[${name}]`));
      } catch (err) {
        // One damaged record must not lock every other operator out.
        this.log?.warn({ err, name }, 'config store: unreadable token record skipped');
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async put(token: TokenRecord): Promise<void> {
    const t = parseTokenRecord(token, `config store: token '${token?.name}'`);
    await this.durable.exec(this.cmd.pipeline().hset(this.key, t.name, JSON.stringify(t)), this.key);
    await this.changed();
  }

  async create(token: TokenRecord): Promise<boolean> {
    const t = parseTokenRecord(token, `config store: token '${token?.name}'`);
    const [created] = await this.durable.exec(this.cmd.pipeline().hsetnx(this.key, t.name, JSON.stringify(t)), this.key, ([n]) => n === 1);
    if (created === 1) await this.changed();
    return created === 1;
  }

  async delete(name: string): Promise<boolean> {
    const [deleted] = await this.durable.exec(this.cmd.pipeline().hdel(this.key, name), this.key, ([n]) => n === 1);
    if (deleted === 1) await this.changed();
    return deleted === 1;
  }
}

/**
 * A bounded ring of recent service clients (the ECS subnet or the resolver), so a dry run can show
 * how a config change would move the clients this node actually serves. The DNS path pays one
 * counter increment per service query and one array store every `every` queries.
 * @module
 */
import { clientText } from './client.js';
import type { Client } from '../policy/types.js';

export class ClientSampler {
  private readonly ring: (Client | undefined)[];
  private next = 0;
  private tick = 0;

  constructor(
    readonly size: number,
    /** Keep one client in this many (a power of two). */
    private readonly everyMask = 15,
  ) {
    this.ring = new Array<Client | undefined>(size);
  }

  offer(client: Client): void {
    if (this.due()) this.keep(client);
  }

  /** Counts one service query; true when its client is to be kept (then call `keep`), so the other queries need not build one. */
  due(): boolean {
    return this.size !== 0 && (++this.tick & this.everyMask) === 0;
  }

  keep(client: Client): void {
    this.ring[this.next] = client;
    this.next = (this.next + 1) % this.size;
  }

  /** Distinct client addresses (ECS prefixes print as their network address), newest first. */
  recent(): string[] {
    const out = new Set<string>();
    for (let i = 1; i <= this.size; i++) {
      const c = this.ring[(this.next - i + this.size) % this.size];
      if (c) out.add(clientText(c).split('/')[0]!);
    }
    return [...out];
  }
}

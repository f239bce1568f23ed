/**
 * Preloaded (`node --require`) into the peer gateway, which listens on every interface and has no
 * host option: every server it opens listens on 127.0.0.1 instead.
 */
import { Server, type ListenOptions } from 'node:net';

type Listen = (this: Server, ...args: unknown[]) => Server;
const listen = Server.prototype.listen as Listen;
Server.prototype.listen = function listenOnLoopback(this: Server, ...args: unknown[]) {
  const callback = args.find((arg) => typeof arg === 'function');
  if (typeof args[0] === 'number') return listen.call(this, args[0], '127.0.0.1', ...(callback ? [callback] : []));
  if (typeof args[0] === 'object' && args[0] !== null) return listen.call(this, { ...(args[0] as ListenOptions), host: '127.0.0.1' }, ...args.slice(1));
  return listen.apply(this, args);
} as Server['listen'];

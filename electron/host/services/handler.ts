// A service answers its part of the contract: one handler per command, typed
// from the contract's zod output types (the request as validated, defaults
// filled in; the reply as the contract's response schema parses it).
import type { z } from 'zod';
import type { Cmd, Response, requestSchema } from '../../../shared/contract';
import type { HostState } from './state';

export type RequestOf<C extends Cmd> = Extract<z.output<typeof requestSchema>, { cmd: C }>;
export type Handler<C extends Cmd> = (req: RequestOf<C>, state: HostState) => Promise<Response<C>> | Response<C>;
/** Some commands of the contract, each with its handler. */
export type Handlers<C extends Cmd> = { [K in C]: Handler<K> };

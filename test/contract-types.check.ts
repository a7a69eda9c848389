// Compile-time checks, run by `make typecheck` (tsc fails when an expected error goes away):
// handlers typed from the spec cannot answer or read fields the spec does not have.
import { handlerTable, type AllHandlers, type HandlerTable, type OperationHandler, type Schemas } from '../src/http/contract';

export const answersOnlySpecFields: OperationHandler<'getHealth'> = (_req, res) => {
  // @ts-expect-error `uptime` is not in the spec's Health schema.
  res.json({ status: 'ok', uptime: 1 });
};

export const readsOnlySpecFields: OperationHandler<'createSession'> = (req) => {
  // @ts-expect-error `remember_me` is not in the spec's LoginRequest schema.
  void req.body.remember_me;
};

export const mapsOnlySpecFields = (): Schemas['User'] => ({
  id: 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
  username: 'a',
  created_at: '2026-11-22T08:00:00Z',
  // @ts-expect-error `password_hash` is not in the spec's User schema.
  password_hash: 'x',
});

// The application's handler table names every operation of the spec, and nothing else.
declare const everyHandler: AllHandlers;
const { getHealth: _omitted, ...allButOne } = everyHandler;
// @ts-expect-error `getHealth` has no handler.
handlerTable(allButOne);
// @ts-expect-error `getNothing` names no operation of the spec, though it comes in a spread.
handlerTable({ ...everyHandler, ...{ getNothing: () => {} } });
// @ts-expect-error A feature's table cannot name an operation the spec does not have.
export type NoSuchOperation = HandlerTable<'getNothing'>;

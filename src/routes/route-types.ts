/**
 * The types the route table gives its users: what a route's operation takes and answers (server and panel) and
 * what a client sends and gets back (the CLI). All of them are derived from the schemas in routes.ts.
 */
import type { z } from 'zod';
import type { Wire } from './schemas.js';
import type { ROUTES, RouteId } from './table.js';

type Route<K extends RouteId> = (typeof ROUTES)[K];

/** The routes whose reply is JSON with a schema: they have an operation in operations.ts. */
export type JsonRouteId = {
  [K in RouteId]: Route<K> extends { reply: { schema: z.ZodType } } ? K : never;
}[RouteId];

/** A value as the service hands it out: readonly where the schema's output is not. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What the operation of route `K` receives: its parameters, query and body, validated by their schemas. */
export interface OperationInput<K extends RouteId> {
  readonly params: Route<K> extends { params: { schema: infer S extends z.ZodType } }
    ? z.output<S>
    : undefined;
  readonly query: Route<K> extends { query: { schema: infer S extends z.ZodType } } ? z.output<S> : undefined;
  readonly body: Route<K> extends { body: { validatedBy: 'operation' } }
    ? unknown
    : Route<K> extends { body: { schema: infer S extends z.ZodType } }
      ? z.output<S>
      : undefined;
}

/** What the operation of route `K` answers: its reply schema's output. */
export type OperationReply<K extends JsonRouteId> =
  Route<K> extends {
    reply: { schema: infer S extends z.ZodType };
  }
    ? DeepReadonly<Wire<z.output<S>>>
    : never;

/** The reply of route `K` as a client reads it (parsed with the same schema). */
export type ClientReply<K extends JsonRouteId> =
  Route<K> extends {
    reply: { schema: infer S extends z.ZodType };
  }
    ? Wire<z.output<S>>
    : never;

/** What a client sends to route `K`: the schemas' inputs (before transforms). */
export type ClientInput<K extends RouteId> = (Route<K> extends {
  params: { schema: infer S extends z.ZodType };
}
  ? { readonly params: z.input<S> }
  : { readonly params?: undefined }) &
  (Route<K> extends { query: { schema: infer S extends z.ZodType } }
    ? { readonly query?: z.input<S> }
    : { readonly query?: undefined }) &
  (Route<K> extends { body: { schema: infer S extends z.ZodType } }
    ? { readonly body: DeepReadonly<z.input<S>> }
    : { readonly body?: undefined });

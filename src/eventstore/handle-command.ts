/**
 * The write path: load the stream, fold `evolve`, `decide`, append with the expected
 * revision. A concurrent writer makes the append fail; we re-read and decide again a
 * bounded number of times, then give up with 409.
 */
import { DomainError } from "../domain/errors";
import { metadataFor, type CommandContext } from "./context";
import { WrongExpectedRevisionError, type EventStore, type NewEvent, type RecordedEvent } from "./port";

export interface DomainEvent {
  type: string;
  data: object;
}

export interface Decider<State, Command, Event extends DomainEvent> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  decide: (command: Command, state: State) => Event[];
}

export interface HandleResult<State, Event> {
  events: Event[];
  state: State;
  /** Global position of the last appended event; 0n when decide returned nothing. */
  position: bigint;
  nextRevision: bigint;
}

export interface HandleOptions {
  maxAttempts?: number;
  /** Organization stamped on the events' metadata when it differs from the actor's. */
  organizationId?: string | null;
}

export async function loadState<State, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Pick<Decider<State, unknown, Event>, "initialState" | "evolve">,
): Promise<{ state: State; revision: bigint | "no_stream"; events: RecordedEvent[] }> {
  const events = await store.readStream(streamId);
  let state = decider.initialState();
  for (const e of events) state = decider.evolve(state, { type: e.type, data: e.data } as Event);
  const revision = events.length === 0 ? "no_stream" : events[events.length - 1].revision;
  return { state, revision, events };
}

/** Domain events to store events: fresh ids, the context's metadata. */
export function toNewEvents(events: readonly DomainEvent[], ctx: CommandContext, organizationId: string | null = ctx.organizationId): NewEvent[] {
  const metadata = metadataFor(ctx, organizationId);
  return events.map((e) => ({ id: Bun.randomUUIDv7(), type: e.type, data: e.data as Record<string, unknown>, metadata }));
}

export async function handleCommand<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command,
  ctx: CommandContext,
  options: HandleOptions = {},
): Promise<HandleResult<State, Event>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadState(store, streamId, decider);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: 0n, nextRevision: revision === "no_stream" ? -1n : revision };
    try {
      const result = await store.append(
        streamId,
        toNewEvents(events, ctx, options.organizationId === undefined ? ctx.organizationId : options.organizationId),
        revision,
      );
      const newState = events.reduce(decider.evolve, state);
      return { events, state: newState, position: result.position, nextRevision: result.nextRevision };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      if (attempt >= maxAttempts) {
        throw new DomainError("conflict", "The resource was changed concurrently; retry the request");
      }
      // Spread retries so a crowd of writers does not collide in lockstep again.
      await Bun.sleep(Math.random() * 5 * attempt);
    }
  }
}

import { describe, expect, test } from "bun:test";
import { OwnWrites } from "../../src/http/own-writes";

describe("OwnWrites", () => {
  test("given a noted write, when the same user's next request settles, then it waits for that position once", async () => {
    const own = new OwnWrites();
    const waited: bigint[] = [];
    const waitFor = async (p: bigint) => void waited.push(p);
    own.note("u1", 5n);
    own.note("u1", 3n); // an older position never lowers what must be waited for
    await own.settle("u1", waitFor);
    await own.settle("u1", waitFor); // already passed: no second wait
    await own.settle("u2", waitFor); // another user wrote nothing
    expect(waited).toEqual([5n]);
  });

  test("given a write noted while an earlier one was being waited for, when settled, then the newer one is kept", async () => {
    const own = new OwnWrites();
    own.note("u1", 5n);
    const waited: bigint[] = [];
    await own.settle("u1", async (p) => {
      waited.push(p);
      own.note("u1", 9n);
    });
    await own.settle("u1", async (p) => void waited.push(p));
    expect(waited).toEqual([5n, 9n]);
  });

  test("given the projector never gets there, when settled, then the wait's error reaches the request", async () => {
    const own = new OwnWrites();
    own.note("u1", 5n);
    await expect(own.settle("u1", async () => { throw new Error("not readable yet"); })).rejects.toThrow("not readable yet");
  });
});

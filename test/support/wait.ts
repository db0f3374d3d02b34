// Waiting on something outside the test's control (a process, a socket, a
// node's state) by polling it, with a failure that says what never happened.

/** Poll `probe` until it gives a value (not undefined/false); fail naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Node 20 lacks Promise.withResolvers, which the official SDK expects from
// Node 22. Imported for its effect by the tests that run the official SDK in
// this process (the worker programs carry their own copy).
// (lib ES2023 does not declare withResolvers, hence the cast.)
(Promise as unknown as { withResolvers?: () => unknown }).withResolvers ??= () => {
  let resolve!: (v: unknown) => void, reject!: (e?: unknown) => void;
  const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
};

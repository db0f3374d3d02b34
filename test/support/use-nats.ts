// useNats(): the nats-server of a test file, as vitest hooks (apart from
// nats.ts, which the bench imports outside vitest).

import { afterAll, beforeAll } from "vitest";
import { startNats, type NatsOptions, type NatsServer } from "./nats.ts";

/**
 * One nats-server for the tests of the calling file: started before them and
 * stopped after them. Its fields can be read once the tests run.
 */
export function useNats(options: NatsOptions = {}): NatsServer {
  let server: NatsServer | undefined;
  beforeAll(async () => {
    server = await startNats(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): NatsServer => {
    if (server === undefined) throw new Error("useNats(): the server starts before the file's tests; read it inside them");
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get storeDir() {
      return started().storeDir;
    },
    get proc() {
      return started().proc;
    },
    stop: () => started().stop(),
    crash: () => started().crash(),
  };
}

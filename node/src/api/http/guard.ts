// Who may talk to the HTTP side of a node. A web page can make a browser
// send requests to a node on the developer's machine (cross-site requests)
// or point a name it controls at 127.0.0.1 (DNS rebinding). Browsers always
// say where such a request comes from (Origin) and which name they think
// they reach (Host), so both are checked before anything is read or written.

import type { IncomingHttpHeaders } from "node:http";

export interface AccessOptions {
  /** Origins (scheme://host[:port]) whose browser pages may call this node; "*" allows all. Default none. */
  allowedOrigins?: readonly string[];
  /** Only loopback names in Host (the node listens on loopback only). */
  loopbackHostsOnly?: boolean;
}

export interface Refusal {
  status: number;
  message: string;
}

/** Is `host` (as given to listen) a loopback interface? */
export function isLoopbackInterface(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The name part of a Host header (`name:port`, `[v6]:port`). */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") >>> 0);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

function isLoopbackName(name: string): boolean {
  return isLoopbackInterface(name) || name.endsWith(".localhost");
}

/** A refusal when the request's Origin or Host is not allowed; undefined when it may proceed. */
export function checkAccess(headers: IncomingHttpHeaders, options: AccessOptions): Refusal | undefined {
  const origin = headers.origin;
  if (origin !== undefined) {
    const allowed = options.allowedOrigins ?? [];
    if (!allowed.includes("*") && !allowed.includes(origin)) {
      return {
        status: 403,
        message:
          `requests from the web origin ${JSON.stringify(origin)} are refused; ` +
          `start the node with --allow-origin ${origin} (RESONATE_ALLOW_ORIGIN) to allow that page`,
      };
    }
  }
  const host = headers.host;
  if (options.loopbackHostsOnly === true && host !== undefined && !isLoopbackName(hostName(host))) {
    return {
      status: 403,
      message:
        `the Host ${JSON.stringify(host)} is not a loopback name; a node listening on loopback answers only ` +
        `localhost, 127.0.0.1 and [::1] (listen on another --host to serve other names)`,
    };
  }
  return undefined;
}

/** A refusal unless the body is declared JSON (`application/json`, any parameters). */
export function checkJsonContentType(headers: IncomingHttpHeaders): Refusal | undefined {
  const type = (headers["content-type"] ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (type === "application/json") return undefined;
  return {
    status: 415,
    message: `POST / takes a JSON envelope: set the header content-type: application/json (got ${type === "" ? "none" : JSON.stringify(type)})`,
  };
}

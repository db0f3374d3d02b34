// Delivery addresses: where `execute` and `unblock` messages go.
//   poll://any@group        any live worker of the group
//   poll://any@group/pid    that worker if connected, else any of the group
//   poll://uni@group/pid    that worker only
//   group                   shorthand for poll://any@group
//   http(s)://...           accepted for compatibility (push delivery)

export type Address =
  | { scheme: "poll"; mode: "any"; group: string; pid?: string }
  | { scheme: "poll"; mode: "uni"; group: string; pid: string }
  | { scheme: "http"; url: string };

const NAME = /^[A-Za-z0-9_.~-][A-Za-z0-9_.~:-]*$/;

/** Parse an address, or return a sentence saying what is wrong with it. */
export function parseAddress(raw: string): Address | string {
  if (raw.length === 0) return "must not be empty";
  if (/^https?:\/\//.test(raw)) {
    try {
      new URL(raw);
      return { scheme: "http", url: raw };
    } catch {
      return `"${raw}" is not a valid http(s) URL`;
    }
  }
  if (!raw.includes("://")) {
    if (!NAME.test(raw)) return `"${raw}" is not a valid group name (letters, digits, '-', '_', '.', '~', ':')`;
    return { scheme: "poll", mode: "any", group: raw };
  }
  const m = /^poll:\/\/(any|uni)@([^/]+)(?:\/([^/]+))?$/.exec(raw);
  if (!m) return `"${raw}" is not an address of the form poll://any@group[/pid], poll://uni@group/pid or http(s)://...`;
  const [, mode, group, pid] = m;
  if (!NAME.test(group!)) return `"${raw}" has an invalid group "${group}"`;
  if (pid !== undefined && !NAME.test(pid)) return `"${raw}" has an invalid pid "${pid}"`;
  if (mode === "uni") {
    if (pid === undefined) return `"${raw}" is unicast and needs a pid: poll://uni@group/pid`;
    return { scheme: "poll", mode: "uni", group: group!, pid };
  }
  return pid === undefined ? { scheme: "poll", mode: "any", group: group! } : { scheme: "poll", mode: "any", group: group!, pid };
}

export function formatAddress(a: Address): string {
  if (a.scheme === "http") return a.url;
  return a.pid === undefined ? `poll://${a.mode}@${a.group}` : `poll://${a.mode}@${a.group}/${a.pid}`;
}

// The HPACK decoder of the raw HTTP/2 client, on the examples of RFC 7541
// Appendix C (Huffman strings, the dynamic table and its evictions), and the
// encoder's blocks read back by the decoder.

import { describe, expect, test } from "vitest";
import { encodeHeaders, HpackDecoder, HpackError } from "../../src/client/hpack.ts";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

describe("HpackDecoder", () => {
  test("decodes the requests of RFC 7541 C.4 (Huffman), the later ones through the dynamic table", () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))).toEqual({
      ":method": "GET",
      ":scheme": "http",
      ":path": "/",
      ":authority": "www.example.com",
    });
    expect(decoder.decode(hex("8286 84be 5886 a8eb 1064 9cbf"))).toEqual({
      ":method": "GET",
      ":scheme": "http",
      ":path": "/",
      ":authority": "www.example.com",
      "cache-control": "no-cache",
    });
    expect(decoder.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))).toEqual({
      ":method": "GET",
      ":scheme": "https",
      ":path": "/index.html",
      ":authority": "www.example.com",
      "custom-key": "custom-value",
    });
  });

  test("decodes the responses of RFC 7541 C.6, evicting from a 256-octet table", () => {
    const decoder = new HpackDecoder(256);
    const first = hex(
      "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    );
    expect(decoder.decode(first)).toEqual({
      ":status": "302",
      "cache-control": "private",
      date: "Mon, 21 Oct 2013 20:13:21 GMT",
      location: "https://www.example.com",
    });
    // ":status: 307" evicts the oldest entry (":status: 302"); the rest are indexed.
    expect(decoder.decode(hex("4883 640e ff c1 c0 bf"))).toEqual({
      ":status": "307",
      "cache-control": "private",
      date: "Mon, 21 Oct 2013 20:13:21 GMT",
      location: "https://www.example.com",
    });
  });

  test("a repeated name keeps every value, in order", () => {
    const block = encodeHeaders([
      ["x-a", "1"],
      ["x-a", "2"],
    ]);
    expect(new HpackDecoder().decode(block)).toEqual({ "x-a": ["1", "2"] });
  });

  test("an index past both tables is a COMPRESSION_ERROR (HpackError)", () => {
    expect(() => new HpackDecoder().decode(hex("be"))).toThrow(HpackError);
  });

  test("Huffman padding that is not a prefix of EOS is refused", () => {
    // "a" is 00011 (5 bits); padding with zeros is invalid.
    expect(() => new HpackDecoder().decode(hex("0081 18 0081 18"))).toThrow(/padding/);
  });
});

describe("encodeHeaders", () => {
  test("static fields by index, others as literals, read back as sent", () => {
    const fields: [string, string][] = [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/resonate.mesh.v1.TaskService/Fence"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["authorization", "Bearer t0k3n"],
      ["x-long", "y".repeat(300)],
    ];
    const block = encodeHeaders(fields);
    // :method POST and :scheme http are one byte each (static indexes 3 and 6).
    expect([...block.subarray(0, 2)]).toEqual([0x83, 0x86]);
    expect(new HpackDecoder().decode(block)).toEqual(Object.fromEntries(fields));
  });
});

'use strict'
// tests/tuple_vectors/gen.js -- test vectors for digby's tuple codec
// (src_parts/76_tuple.c) from an independent implementation of FoundationDB's
// tuple layer: the npm package fdb-tuple 1.0.0 (Joseph Gentle, MIT).
//
// Regenerate (Node 14 or later; CI needs neither Node nor this script, only
// the committed vectors.txt):
//
//     d=$(mktemp -d) && cp tests/tuple_vectors/gen.js tests/tuple_vectors/package.json "$d" &&
//     (cd "$d" && npm install --no-audit --no-fund && node gen.js) > tests/tuple_vectors/vectors.txt
//
// The output is the same for the same fdb-tuple version (a fixed-seed
// generator; no clock, no Math.random).  tests/tuple.c reads vectors.txt;
// its first comment lines describe the format.  This script also checks
// fdb-tuple against itself: every "ok" value must unpack (with
// noCanonicalize) to the value it packed, and a safe integer must pack the
// same as a number and as a BigInt; it stops with an error otherwise.

const tuple = require('fdb-tuple')
const assert = require('assert')

// ---- a fixed-seed generator (mulberry32) ----------------------------------
let state = 0x6469676b // "digk"
function rnd32() {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return (t ^ (t >>> 14)) >>> 0
}
const rint = (n) => rnd32() % n
const rnd64 = () => (BigInt(rnd32()) << 32n) | BigInt(rnd32())
const pick = (arr) => arr[rint(arr.length)]

// ---- the value model -------------------------------------------------------
// {k:'n'} null; {k:'t'}/{k:'f'}; {k:'i', v:BigInt}; {k:'d', bits:BigInt}
// (IEEE 754 binary64 bits); {k:'b', buf}; {k:'s', buf} (UTF-8 bytes);
// {k:'g', buf} (16-byte UUID); {k:'nest', items:[...]}.

const INT64_MIN = -(2n ** 63n)
const UINT64_MAX = 2n ** 64n - 1n

const hex = (buf) => Buffer.from(buf).toString('hex')
const bitsHex = (bits) => bits.toString(16).padStart(16, '0')

function doubleFromBits(bits) {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(bits)
  return b.readDoubleBE(0)
}
function isNaNBits(bits) {
  return ((bits >> 52n) & 0x7ffn) === 0x7ffn && (bits & ((1n << 52n) - 1n)) !== 0n
}

// The token text of a value (the format tests/tuple.c parses).
function token(v) {
  switch (v.k) {
    case 'n': return 'n'
    case 't': return 't'
    case 'f': return 'f'
    case 'i': return 'i:' + v.v.toString(10)
    case 'd': return 'd:' + bitsHex(v.bits)
    case 'b': return 'b:' + hex(v.buf)
    case 's': return 's:' + hex(v.buf)
    case 'g': return 'g:' + hex(v.buf)
    case 'nest': return ['(', ...v.items.map(token), ')'].join(' ')
  }
  throw new Error('bad value ' + JSON.stringify(v))
}
const tupleToken = (items) => items.length ? items.map(token).join(' ') : '-'

// The fdb-tuple form of a value.  Integers: a JS number inside the safe range
// (or, when asBigInt, a BigInt), a BigInt outside it.  Doubles: a
// {type:'double'} so that integral values stay doubles; a NaN also carries
// its bits (rawEncoding), as fdb-tuple's own binding test does, because
// JavaScript does not keep NaN payloads.
function toFdb(v, asBigInt) {
  switch (v.k) {
    case 'n': return null
    case 't': return true
    case 'f': return false
    case 'i':
      if (!asBigInt && v.v >= BigInt(Number.MIN_SAFE_INTEGER) && v.v <= BigInt(Number.MAX_SAFE_INTEGER))
        return Number(v.v)
      return v.v
    case 'd': {
      const value = doubleFromBits(v.bits)
      if (isNaNBits(v.bits)) {
        const raw = Buffer.alloc(8)
        raw.writeBigUInt64BE(v.bits)
        return {type: 'double', value, rawEncoding: raw}
      }
      return {type: 'double', value}
    }
    case 'b': return Buffer.from(v.buf)
    case 's': return Buffer.from(v.buf).toString('utf8')
    case 'g': return {type: 'uuid', value: Buffer.from(v.buf)}
    case 'nest': return v.items.map((x) => toFdb(x, asBigInt))
  }
  throw new Error('bad value')
}

// The value model of what fdb-tuple's unpack(buf, true) returned.
function fromFdb(x) {
  if (x === null) return {k: 'n'}
  if (x === true) return {k: 't'}
  if (x === false) return {k: 'f'}
  if (typeof x === 'number') {
    assert(Number.isSafeInteger(x), 'unpack gave a non-integer number ' + x)
    return {k: 'i', v: BigInt(x)}
  }
  if (typeof x === 'bigint') return {k: 'i', v: x}
  if (Buffer.isBuffer(x)) return {k: 'b', buf: x}
  if (typeof x === 'string') return {k: 's', buf: Buffer.from(x, 'utf8')}
  if (Array.isArray(x)) return {k: 'nest', items: x.map(fromFdb)}
  if (x.type === 'uuid') return {k: 'g', buf: x.value}
  if (x.type === 'double') {
    let bits
    if (x.rawEncoding) bits = x.rawEncoding.readBigUInt64BE(0)
    else { const b = Buffer.alloc(8); b.writeDoubleBE(x.value); bits = b.readBigUInt64BE(0) }
    return {k: 'd', bits}
  }
  throw new Error('unexpected unpack result ' + JSON.stringify(x))
}

// ---- random values ---------------------------------------------------------

function randInt() {
  switch (rint(6)) {
    case 0: return BigInt(rint(601)) - 300n
    case 1: { // near a byte-length boundary
      const n = BigInt(1 + rint(8))
      let v = 2n ** (8n * n) + BigInt(rint(5)) - 2n
      if (rint(2)) v = -v
      return v < INT64_MIN ? INT64_MIN : v > UINT64_MAX ? UINT64_MAX : v
    }
    case 2: { // a magnitude of n random bytes
      const n = 1 + rint(7)
      let v = rnd64() & ((1n << BigInt(8 * n)) - 1n)
      return rint(2) ? -v : v
    }
    case 3: return BigInt.asIntN(64, rnd64())  // all of int64
    case 4: return rnd64()                     // all of uint64
    default: return BigInt(rint(2 ** 31)) * (rint(2) ? 1n : -1n)
  }
}

const SPECIAL_DOUBLES = [
  0x0000000000000000n, 0x8000000000000000n,          // +0, -0
  0x3ff0000000000000n, 0xbff0000000000000n,          // +1, -1
  0x7ff0000000000000n, 0xfff0000000000000n,          // +inf, -inf
  0x7ff8000000000000n, 0xfff8000000000000n,          // quiet NaNs
  0x7ff0000000000001n, 0xfff0000000000001n,          // signalling NaNs
  0x7fffffffffffffffn, 0xffffffffffffffffn,          // NaNs, all payload
  0x0000000000000001n, 0x8000000000000001n,          // smallest subnormals
  0x000fffffffffffffn, 0x0010000000000000n,          // subnormal/normal edge
  0x7fefffffffffffffn, 0xffefffffffffffffn,          // largest finite
  0xc045000000000000n,                                // -42.0
  0x4340000000000000n, 0x4330000000000000n,          // 2^53, 2^52
]

function randDouble() {
  switch (rint(5)) {
    case 0: return pick(SPECIAL_DOUBLES)
    case 1: return rnd64()                         // any bits, NaNs included
    case 2: { // a small integer or fraction, as a double
      const b = Buffer.alloc(8)
      b.writeDoubleBE((rint(2001) - 1000) / pick([1, 2, 3, 4, 10, 1024]))
      return b.readBigUInt64BE(0)
    }
    case 3: return rnd64() & 0x800fffffffffffffn   // subnormal or zero
    default: { // finite, any exponent
      const bits = rnd64()
      return ((bits >> 52n) & 0x7ffn) === 0x7ffn ? bits ^ 0x0010000000000000n : bits
    }
  }
}

function randBytes() {
  const n = pick([0, 1, 1, 2, 3, 5, 8, 13])
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = pick([0x00, 0x00, 0xff, 0x01, 0xfe, rint(256), rint(256)])
  return out
}

const SPECIAL_CODEPOINTS = [0x0, 0x1, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff,
                            0x10000, 0x10ffff, 0xd4, 0x2603, 0x1f483]
function randString() {
  const n = pick([0, 1, 2, 3, 5, 8])
  let s = ''
  for (let i = 0; i < n; i++) {
    let cp
    switch (rint(5)) {
      case 0: cp = pick(SPECIAL_CODEPOINTS); break
      case 1: cp = rint(0x80); break
      case 2: cp = 0x80 + rint(0x800 - 0x80); break
      case 3: cp = 0x800 + rint(0x10000 - 0x800 - 0x800); if (cp >= 0xd800) cp += 0x800; break
      default: cp = 0x10000 + rint(0x110000 - 0x10000)
    }
    s += String.fromCodePoint(cp)
  }
  return Buffer.from(s, 'utf8')
}

function randUuid() {
  const b = Buffer.alloc(16)
  const mode = rint(8)
  for (let i = 0; i < 16; i++) b[i] = mode === 0 ? 0 : mode === 1 ? 0xff : rint(256)
  return b
}

function randItem(depth, inNested) {
  const r = rint(inNested ? 20 : 18)
  if (r < 2) return {k: 'n'}
  if (r < 5) return {k: 'i', v: randInt()}
  if (r < 8) return {k: 'd', bits: randDouble()}
  if (r < 10) return {k: 'b', buf: randBytes()}
  if (r < 12) return {k: 's', buf: randString()}
  if (r < 13) return {k: 't'}
  if (r < 14) return {k: 'f'}
  if (r < 15) return {k: 'g', buf: randUuid()}
  if (depth >= 4) return {k: 'n'}
  return {k: 'nest', items: randItems(depth + 1, 4, true)}
}
function randItems(depth, max, inNested) {
  const n = rint(max + 1)
  const out = []
  for (let i = 0; i < n; i++) out.push(randItem(depth, inNested))
  return out
}

// ---- output ----------------------------------------------------------------

const lines = []
let nOk = 0, nReject = 0, nMalformed = 0, nAccepted = 0

function emitOk(items, note) {
  const packed = tuple.pack(items.map((x) => toFdb(x, false)))
  const packedBig = tuple.pack(items.map((x) => toFdb(x, true)))
  assert(packed.equals(packedBig), 'number and BigInt packs differ for ' + tupleToken(items))
  const back = tuple.unpack(packed, true).map(fromFdb)
  assert.strictEqual(tupleToken(back), tupleToken(items), 'fdb-tuple does not round-trip')
  lines.push('ok ' + (packed.length ? packed.toString('hex') : '-') + ' ' + tupleToken(items) +
             (note ? ' # ' + note : ''))
  nOk++
}

// An fdb-tuple value that digby does not read: digby_tuple_unpack must say
// DIGBY_INVALID for its packed bytes.
function emitReject(fdbItems, note) {
  const packed = tuple.pack(fdbItems)
  lines.push('reject ' + packed.toString('hex') + ' # ' + note)
  nReject++
}

// Malformed input: digby must reject it; what fdb-tuple's unpack does with it
// is recorded (where it accepts, the two implementations disagree).
function emitMalformed(hexText, note) {
  let verdict
  try {
    const got = tuple.unpack(Buffer.from(hexText, 'hex'), true)
    let text
    try { text = tupleToken(got.map(fromFdb)) } catch (e) { text = JSON.stringify(got, (k, v) => typeof v === 'bigint' ? v.toString() + 'n' : v) }
    verdict = 'fdb-tuple accepts, giving ' + text
    nAccepted++
  } catch (e) {
    verdict = 'fdb-tuple throws'
  }
  lines.push('malformed ' + hexText + ' # ' + note + '; ' + verdict)
  nMalformed++
}

const I = (v) => ({k: 'i', v: BigInt(v)})
const D = (bits) => ({k: 'd', bits})
const B = (s) => ({k: 'b', buf: Buffer.from(s, 'latin1')})
const S = (s) => ({k: 's', buf: Buffer.from(s, 'utf8')})
const N = (...items) => ({k: 'nest', items})
const NUL = {k: 'n'}

lines.push('# tests/tuple_vectors/vectors.txt -- generated by gen.js (beside it) with fdb-tuple ' +
           require('fdb-tuple/package.json').version + '; do not edit, regenerate (see gen.js).')
lines.push('# ok HEX ITEMS       fdb-tuple packs ITEMS to HEX ("-": empty) and unpacks HEX to ITEMS')
lines.push('# reject HEX # why   fdb-tuple packs a value to HEX that digby does not read: DIGBY_INVALID')
lines.push('# malformed HEX # why; what fdb-tuple does   malformed, or a code digby does not read: DIGBY_INVALID')
lines.push('# ITEMS: n null, t true, f false, i:DECIMAL, d:HEX (IEEE 754 binary64 bits), b:HEX bytes,')
lines.push('#        s:HEX (UTF-8 bytes), g:HEX (16-byte UUID), ( ITEMS ) nested tuple; "#" starts a note.')

// The spec's own examples (design/tuple.md), through fdb-tuple.
emitOk([B('foo\x00bar')], 'design/tuple.md byte string example')
emitOk([S('F\u00d4O\u0000bar')], 'design/tuple.md unicode string example')
emitOk([N(B('foo\x00bar'), NUL, N())], 'design/tuple.md nested tuple example')
emitOk([I(-5551212)], 'design/tuple.md integer example')
emitOk([I(-1)], 'design/tuple.md: -1 is 0x13 0xfe')
emitOk([N()], 'design/tuple.md: the empty nested tuple')
emitOk([N(NUL)], 'design/tuple.md: the nested tuple holding null')
emitOk([D(0xc045000000000000n)], '-42.0 as a double (the spec example is the float)')
emitOk([], 'the empty tuple')
emitOk([NUL, NUL], 'top-level nulls')
emitOk([{k: 'f'}, {k: 't'}], 'false, true')

// Integers: zero, +-1, +-255, +-256, every byte-length boundary, the int64
// and uint64 ends.
for (const v of [0n, 1n, -1n, 255n, -255n, 256n, -256n, INT64_MIN, 2n ** 63n - 1n, 2n ** 63n, UINT64_MAX])
  emitOk([{k: 'i', v}], 'integer edge')
for (let n = 1n; n <= 8n; n++) {
  for (const d of [-1n, 0n, 1n]) {
    const mag = 2n ** (8n * n) + d
    for (const v of [mag, -mag]) if (v >= INT64_MIN && v <= UINT64_MAX) emitOk([{k: 'i', v}], 'byte-length boundary')
  }
}
for (const bits of SPECIAL_DOUBLES) emitOk([D(bits)], 'special double')
for (const cp of SPECIAL_CODEPOINTS) emitOk([S(String.fromCodePoint(cp))], 'code point boundary')
emitOk([B(''), S(''), B('\x00'), B('\x00\x00'), B('\xff'), B('\x00\xff')], 'short byte strings')
emitOk([{k: 'g', buf: Buffer.alloc(16)}, {k: 'g', buf: Buffer.alloc(16, 0xff)}], 'UUID ends')
{
  let deep = N(I(32))
  for (let d = 31; d >= 1; d--) deep = N(I(d), deep)
  emitOk([deep], '32 nested tuples inside each other (DIGBY_TUPLE_MAX_DEPTH)')
  emitReject([toFdb(N(deep), false)], '33 nested tuples inside each other: deeper than DIGBY_TUPLE_MAX_DEPTH')
}

// Random tuples, all types, nesting included.
for (let i = 0; i < 4000; i++) emitOk(randItems(0, 6, false))

// Values fdb-tuple writes that digby does not read.
for (const v of [2n ** 64n, 2n ** 64n + 1n, 2n ** 100n, 2n ** 2040n - 1n])
  emitReject([v], 'integer above UINT64_MAX (code 0x1d)')
for (const v of [-(2n ** 64n), -(2n ** 100n), -(2n ** 2040n - 1n)])
  emitReject([v], 'integer below -(2^64 - 1) (code 0x0b)')
for (const v of [INT64_MIN - 1n, -(2n ** 64n - 1n), -(2n ** 63n + 12345n)])
  emitReject([v], '8-byte negative integer below INT64_MIN (code 0x0c)')
emitReject([{type: 'float', value: -42}], 'design/tuple.md float example (code 0x20): digby has no float')
emitReject([{type: 'float', value: 0}], 'float (code 0x20)')
emitReject([{type: 'versionstamp', value: Buffer.from('000102030405060708090a0b', 'hex')}],
           '96-bit versionstamp (code 0x33)')
emitReject(['a', [1, 2n ** 64n], 3], 'a too-large integer inside a nested tuple')

// Malformed inputs.
const MALFORMED = [
  ['01', 'byte string without its end'], ['016162', 'byte string without its end'],
  ['0161 00ff', 'byte string ending inside an escape'], ['02', 'string without its end'],
  ['02c3', 'string without its end, inside a UTF-8 sequence'],
  ['05', 'nested tuple without its end'], ['0515', 'nested tuple ending in a truncated integer'],
  ['050100', 'nested tuple without its end'], ['0500ff', 'nested null, no end'],
  ['0505 00', 'inner nested closed, outer not'],
  ['15', 'integer missing its byte'], ['16 01', 'integer missing a byte'],
  ['1c 01020304050607', '8-byte integer with 7 bytes'], ['13', 'negative integer missing its byte'],
  ['12 fe', 'negative integer missing a byte'], ['0c 7f', '8-byte negative integer with 1 byte'],
  ['21', 'double without bytes'], ['21 3fbaffffffffff', 'double with 7 bytes'],
  ['30', 'UUID without bytes'], ['30 000102030405060708090a0b0c0d0e', 'UUID with 15 bytes'],
  ['15 00', 'integer 0 not in the fewest bytes'], ['16 0005', '5 in two bytes'],
  ['1c 00ffffffffffffff', '2^56-1 in eight bytes'], ['13 ff', 'negative zero'],
  ['12 ff01', '-254 in two bytes'], ['0c ff00000000000000', 'negative integer, leading 0xff'],
  ['03', 'deprecated nested tuple code'], ['04', 'deprecated nested tuple end'],
  ['25', 'deprecated true'], ['06', 'unassigned code'], ['0a 00', 'reserved code'],
  ['1d 01 00', 'code 0x1d (9..255-byte integers) holding 1 byte'], ['0b fe 00', 'code 0x0b (9..255-byte negative integers) holding 1 byte'],
  ['20 3dd7ffff', 'float'], ['22 00000000000000000000', 'long double (reserved)'],
  ['23', 'decimal (reserved)'], ['28', 'unassigned code'], ['31 0000000000000000', '64-bit identifier (reserved)'],
  ['32 00000000000000000000', '80-bit versionstamp (reserved)'],
  ['33 000102030405060708090a0b', '96-bit versionstamp'],
  ['34 01 61', 'length-prefixed bytes (reserved)'], ['40', 'user type code'],
  ['f0', 'end of tuple (reserved)'], ['ff', 'escape character'], ['00ff', 'top-level null, then 0xff'],
  ['02 c080 00', 'overlong U+0000'], ['02 c1bf 00', 'overlong U+007F'],
  ['02 e08080 00', 'overlong three-byte'], ['02 e09fbf 00', 'overlong U+07FF'],
  ['02 f08f bfbf 00', 'overlong U+FFFF'], ['02 eda080 00', 'surrogate U+D800'],
  ['02 edbfbf 00', 'surrogate U+DFFF'], ['02 f4908080 00', 'above U+10FFFF'],
  ['02 f5808080 00', 'lead byte 0xf5'], ['02 80 00', 'lone continuation byte'],
  ['02 e282 00', 'truncated sequence'], ['02 e2 00ff 82ac 00', 'U+0000 inside a sequence'],
  ['02 fe 00', 'byte 0xfe'], ['02 ff 00', 'byte 0xff'],
  ['05 02 eda080 00 00', 'surrogate inside a nested tuple'],
]
for (const [h, note] of MALFORMED) emitMalformed(h.replace(/ /g, ''), note)

process.stdout.write(lines.join('\n') + '\n')
process.stderr.write(`gen.js: ${nOk} ok, ${nReject} reject, ${nMalformed} malformed (fdb-tuple accepts ${nAccepted} of them)\n`)

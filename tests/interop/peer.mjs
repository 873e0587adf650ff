// A stock Yjs client (npm y-websocket WebsocketProvider, unmodified) driven by
// tests/test_interop.py over stdin/stdout, one JSON object per line.
//
// Why a separate program: annotd promises that any unmodified y-websocket client can
// sync with it; only a real npm client proves that (a Python re-implementation would
// share annotd's own assumptions about the protocol).
//
// Usage: node peer.mjs <serverUrl> <room> <userId>
//
// Commands (stdin). Each may carry an "id"; the reply is {"id": <id>, "ok": true, ...}
// or {"id": <id>, "ok": false, "error": "..."}:
//   {"op":"set","map":"annotations","key":"a1","value":{...}}   map defaults to annotations
//   {"op":"setMany","entries":{"a1":{...},"a2":{...}}}           one Yjs transaction
//   {"op":"delete","key":"a1"}
//   {"op":"awareness","state":{...} | null}                       setLocalState
//   {"op":"dump","map":"meta"}                                    -> {"map": <toJSON>}
//   {"op":"until","map":"meta","key":"image","equals":<json>}     replies once the value
//       (or the whole map when "key" is absent) deep-equals "equals"; checked on every
//       document update, so the test needs no sleeps
//   {"op":"disconnect"} / {"op":"connect"}                        provider.disconnect()/connect()
//   {"op":"resync"}                                               send a sync step 1 (as resyncInterval does)
//   {"op":"stats"}                                                -> frame counts, clientID, clock
//   Canvas schema ops (annotd/canvas/SCHEMA.md), used by tests/test_canvas_api.py:
//   {"op":"setAnnotation","key":"a1","value":{...,"style":{...}}}  one transaction: the
//       annotation as a nested Y.Map whose "style" is a nested Y.Map (other values plain)
//   {"op":"patch","map":"annotations","key":"a1","fields":{"x":5},"style":{"stroke":"#000000"},
//    "unset":["pressures"]}   one transaction: write single keys of the nested map (and of its
//       nested "style" map), as a UI would for a drag or a colour change
//   {"op":"dumpAnnotations"}  -> {"annotations": <toJSON>, "kinds": {id: {"entry": "Y.Map"|"plain",
//       "style": "Y.Map"|"plain"|"absent"}}}
//   {"op":"untilPath","map":"annotations","path":["a1","style","stroke"],"equals":<json>}
//       like "until" for a value nested in maps (a missing step reads as null)
//
// Events (stdout, no "id"):
//   {"event":"open","protocol":"..."}        raw socket opened (negotiated subprotocol)
//   {"event":"status","status":"connected"|"disconnected"|"connecting"}
//   {"event":"synced"}                       provider finished the initial sync (each connect)
//   {"event":"update","remote":bool}         the document changed
//   {"event":"awareness","clientID":n,"states":[{"clientID":n,"state":{...}}],
//    "added":[..],"updated":[..],"removed":[..]}
//   {"event":"frame","kind":"step1"|"step2"|"update"|"awareness",...}  every binary frame received
//       (awareness frames list their {"clientID","clock","removed"})
//   {"event":"textFrame","data":"..."}       the server sent a non-binary frame (must never happen)
//   {"event":"close","code":n,"reason":"..."}        raw socket closed
//   {"event":"connectionClose","code":n|null}        provider saw the close (null: closed locally)
//   {"event":"closed","code":n,"reason":"..."}       provider will not reconnect (4400-4499)
//   {"event":"error","message":"..."}        uncaught exception; the process then exits 1
import readline from 'node:readline'
import process from 'node:process'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { WebsocketProvider } from 'y-websocket'

const [serverUrl, room, userId] = process.argv.slice(2)
if (!serverUrl || !room || !userId) {
  process.stderr.write('usage: node peer.mjs <serverUrl> <room> <userId>\n')
  process.exit(2)
}

const emit = (obj) => {
  // stdout to a pipe is synchronous on Linux, so lines keep the order of the events
  process.stdout.write(JSON.stringify(obj) + '\n')
}

process.on('uncaughtException', (err) => {
  emit({ event: 'error', message: String(err && err.stack ? err.stack : err) })
  process.exit(1)
})

// Raw frame counts, observed on the ws socket itself, independent of y-websocket's decoder:
// a text frame would make y-websocket's onmessage throw (it decodes `new Uint8Array(text)`,
// an empty array), so counting it here reports the cause rather than only the crash.
const frames = { binary: 0, text: 0, sockets: 0 }

/** What a binary frame from the server is: sync step/update, or awareness with its client ids. */
const describeFrame = (buf) => {
  try {
    const decoder = decoding.createDecoder(buf)
    const type = decoding.readVarUint(decoder)
    if (type === 0) {
      return { kind: ['step1', 'step2', 'update'][decoding.readVarUint(decoder)] || 'sync?' }
    }
    if (type === 1) {
      const update = decoding.createDecoder(decoding.readVarUint8Array(decoder))
      const clients = []
      const n = decoding.readVarUint(update)
      for (let i = 0; i < n; i++) {
        const clientID = decoding.readVarUint(update)
        const clock = decoding.readVarUint(update)
        const state = JSON.parse(decoding.readVarString(update))
        clients.push({ clientID, clock, removed: state === null })
      }
      return { kind: 'awareness', clients }
    }
    return { kind: `type${type}` }
  } catch (err) {
    return { kind: 'undecodable', error: String(err) }
  }
}

class CountingWebSocket extends WebSocket {
  constructor (url, protocols) {
    super(url, protocols)
    frames.sockets++
    this.on('message', (data, isBinary) => {
      if (isBinary) {
        frames.binary++
        emit({ event: 'frame', ...describeFrame(new Uint8Array(data)) })
      } else {
        frames.text++
        emit({ event: 'textFrame', data: String(data).slice(0, 500) })
      }
    })
    this.on('open', () => emit({ event: 'open', protocol: this.protocol }))
    this.on('close', (code, reason) => emit({ event: 'close', code, reason: String(reason) }))
  }
}

const ydoc = new Y.Doc()
const provider = new WebsocketProvider(serverUrl, room, ydoc, {
  WebSocketPolyfill: CountingWebSocket,
  params: { userId },
  // Node 20 has a global BroadcastChannel; keep every message on the socket under test.
  disableBc: true
})

/** JSON form of a stored value: Yjs types via toJSON, plain values as they are. */
const plain = (v) => (v instanceof Y.AbstractType ? v.toJSON() : v)

/** Deterministic serialisation (sorted keys) so deep equality does not depend on key order. */
const canonical = (v) => {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']'
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}'
  }
  return JSON.stringify(v === undefined ? null : v)
}

const current = (mapName, key) => {
  const map = ydoc.getMap(mapName || 'annotations')
  return key === undefined ? map.toJSON() : plain(map.get(key))
}

/** The JSON of the value at `path` (keys of nested maps/objects) in root map `mapName`. */
const atPath = (mapName, path) => {
  let v = ydoc.getMap(mapName || 'annotations')
  for (const step of path) {
    if (v instanceof Y.Map) v = v.get(step)
    else if (v !== null && typeof v === 'object') v = v[step]
    else v = undefined
    if (v === undefined) return null
  }
  return plain(v)
}

/** Pending `until` commands, re-checked after every document update. */
let waiters = []
const checkWaiters = () => {
  waiters = waiters.filter((w) => {
    const value = w.path ? atPath(w.map, w.path) : current(w.map, w.key)
    if (canonical(value) === w.want) {
      emit({ id: w.id, ok: true, value })
      return false
    }
    return true
  })
}

provider.on('status', ({ status }) => emit({ event: 'status', status }))
provider.on('sync', (isSynced) => { if (isSynced) emit({ event: 'synced' }) })
provider.on('connection-close', (ev) => emit({ event: 'connectionClose', code: ev ? ev.code : null }))
// y-websocket gives up reconnecting on 4400-4499 ("permanent") close codes and says so here
provider.on('closed', ({ code, reason }) => emit({ event: 'closed', code, reason }))
ydoc.on('update', (_update, origin) => {
  emit({ event: 'update', remote: origin === provider })
  checkWaiters()
})
provider.awareness.on('change', ({ added, updated, removed }) => {
  const states = []
  provider.awareness.getStates().forEach((state, clientID) => states.push({ clientID, state }))
  emit({ event: 'awareness', clientID: ydoc.clientID, states, added, updated, removed })
})

const handlers = {
  set: (c) => { ydoc.getMap(c.map || 'annotations').set(c.key, c.value); return {} },
  setMany: (c) => {
    ydoc.transact(() => {
      const map = ydoc.getMap(c.map || 'annotations')
      for (const [k, v] of Object.entries(c.entries)) map.set(k, v)
    })
    return {}
  },
  delete: (c) => { ydoc.getMap(c.map || 'annotations').delete(c.key); return {} },
  awareness: (c) => { provider.awareness.setLocalState(c.state); return {} },
  dump: (c) => ({ map: current(c.map, undefined) }),
  disconnect: () => { provider.disconnect(); return {} },
  connect: () => { provider.connect(); return {} },
  // Exactly the frame y-websocket's own `resyncInterval` timer sends (sync step 1); the
  // server answers it with a step 2 on the same socket, which makes a round-trip barrier.
  resync: () => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 0)
    syncProtocol.writeSyncStep1(encoder, ydoc)
    provider.ws.send(encoding.toUint8Array(encoder))
    return {}
  },
  stats: () => ({
    clientID: ydoc.clientID,
    // how many ops this client has written: the server has them all once its state vector
    // reaches this clock for our clientID
    clock: Y.decodeStateVector(Y.encodeStateVector(ydoc)).get(ydoc.clientID) || 0,
    textFrames: frames.text,
    binaryFrames: frames.binary,
    sockets: frames.sockets,
    wsconnected: provider.wsconnected,
    synced: provider.synced
  }),
  until: (c) => {
    waiters.push({ id: c.id, map: c.map, key: c.key, want: canonical(c.equals) })
    checkWaiters()
    return null // replied to by checkWaiters
  },
  setAnnotation: (c) => {
    ydoc.transact(() => {
      const ann = new Y.Map()
      ydoc.getMap(c.map || 'annotations').set(c.key, ann)
      for (const [k, v] of Object.entries(c.value)) {
        if (k === 'style' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
          const style = new Y.Map()
          ann.set('style', style)
          for (const [sk, sv] of Object.entries(v)) style.set(sk, sv)
        } else {
          ann.set(k, v)
        }
      }
    })
    return {}
  },
  patch: (c) => {
    const ann = ydoc.getMap(c.map || 'annotations').get(c.key)
    if (!(ann instanceof Y.Map)) throw new Error(`${c.key} is not a nested Y.Map`)
    ydoc.transact(() => {
      for (const [k, v] of Object.entries(c.fields || {})) ann.set(k, v)
      for (const k of c.unset || []) ann.delete(k)
      if (c.style) {
        const style = ann.get('style')
        if (!(style instanceof Y.Map)) throw new Error(`${c.key}.style is not a nested Y.Map`)
        for (const [k, v] of Object.entries(c.style)) style.set(k, v)
      }
    })
    return {}
  },
  dumpAnnotations: (c) => {
    const map = ydoc.getMap(c.map || 'annotations')
    const kinds = {}
    map.forEach((v, k) => {
      const style = v instanceof Y.Map ? v.get('style') : (v && typeof v === 'object' ? v.style : undefined)
      kinds[k] = {
        entry: v instanceof Y.Map ? 'Y.Map' : 'plain',
        style: style instanceof Y.Map ? 'Y.Map' : (style === undefined ? 'absent' : 'plain')
      }
    })
    return { annotations: map.toJSON(), kinds }
  },
  untilPath: (c) => {
    waiters.push({ id: c.id, map: c.map, path: c.path, want: canonical(c.equals) })
    checkWaiters()
    return null // replied to by checkWaiters
  },
  exit: () => {
    provider.destroy()
    emit({ event: 'exiting' })
    process.exit(0)
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (!line.trim()) return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ event: 'error', message: `bad command line: ${line}` })
    return
  }
  const handler = handlers[cmd.op]
  if (!handler) {
    emit({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` })
    return
  }
  try {
    const result = handler(cmd)
    if (result !== null) emit({ id: cmd.id, ok: true, ...result })
  } catch (err) {
    emit({ id: cmd.id, ok: false, error: String(err && err.stack ? err.stack : err) })
  }
})
// The test closing our stdin means it is done with us (or died): do not linger.
rl.on('close', () => process.exit(0))

// A JavaScript producer for driftwatch serve, as a user of apache-arrow and
// kafkajs would write one. Run by the Go test interop/node_test.go:
//
//   node producer.mjs produce BROKER FORMAT ROWS.json   send ROWS as events (FORMAT arrow or json)
//   node producer.mjs file ROWS.json OUT.arrow           write ROWS as an Arrow IPC file (for check)
//   node producer.mjs lz4 ROWS.json OUT.arrows           write ROWS as an LZ4-compressed Arrow stream
//
// ROWS.json is {"id": [...], "income": [...], "home": [...], "tenure": [...],
// "ts": [...epoch ms], "label": [...]}. produce sends the predictions, then
// each row's outcome (its label) to the outcomes topic, and messages serve
// must dead-letter, and prints {"messages": n, "events": n, "dead_letters":
// {reason: n}}: what it expects serve to count.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  tableFromArrays, tableToIPC, vectorFromArray, makeTable, RecordBatchStreamWriter,
  compressionRegistry, CompressionType, Utf8, Int32, Float64, DateMillisecond, List, Field,
} from 'apache-arrow';
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import lz4 from 'lz4js';

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs;
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
compressionRegistry.set(CompressionType.LZ4_FRAME, {
  encode: (data) => lz4.compress(data),
  decode: (data) => lz4.decompress(data),
});

const [mode, ...args] = process.argv.slice(2);

// slice returns rows lo..hi of every column.
function slice(rows, lo, hi) {
  const out = {};
  for (const [k, v] of Object.entries(rows)) out[k] = v.slice(lo, hi);
  return out;
}

// table builds an Arrow table of prediction events the way a JavaScript
// producer would: strings become dictionaries, numbers Float64, a Date
// column DateMillisecond (Date64). Extra columns the profile does not know
// (a creation time, an embedding) ride along.
function table(rows, { model = 'credit', extras = false, plainText = false } = {}) {
  const n = rows.id.length;
  const cols = {
    id: vectorFromArray(rows.id, new Utf8()),
    model: vectorFromArray(Array(n).fill(model)),
    version: vectorFromArray(Array(n).fill('v1')),
    ts: vectorFromArray(rows.ts.map((t) => new Date(t)), new DateMillisecond()),
    income: vectorFromArray(rows.income, new Float64()),
    home: plainText ? vectorFromArray(rows.home, new Utf8()) : vectorFromArray(rows.home),
    tenure: vectorFromArray(rows.tenure, new Int32()),
    score: vectorFromArray(rows.income.map((x) => (x > 50 ? 0.9 : 0.2)), new Float64()),
    prediction: vectorFromArray(rows.income.map((x) => (x > 50 ? '1' : '0'))),
  };
  if (extras) {
    cols.created_at = vectorFromArray(rows.ts.map((t) => new Date(t)), new DateMillisecond());
    cols.embedding = vectorFromArray(rows.income.map((x) => [x, x / 2]), new List(new Field('item', new Float64(), true)));
  }
  return makeTable(cols);
}

function arrowMessages(rows) {
  const msgs = [];
  const n = rows.id.length;
  for (let lo = 0, k = 0; lo < n; lo += 500, k++) {
    const part = slice(rows, lo, Math.min(n, lo + 500));
    if (k % 3 === 1 && part.id.length > 1) {
      // Two record batches in one message.
      const h = Math.floor(part.id.length / 2);
      const t = table(slice(part, 0, h), { plainText: true }).concat(table(slice(part, h, part.id.length), { plainText: true }));
      msgs.push(tableToIPC(t, 'stream'));
    } else {
      msgs.push(tableToIPC(table(part, { extras: k % 3 === 0 }), 'stream'));
    }
  }
  return msgs;
}

function jsonMessages(rows) {
  return rows.id.map((id, i) => JSON.stringify({
    id, model: 'credit', version: 'v1', ts: rows.ts[i],
    features: { income: rows.income[i], home: rows.home[i], tenure: rows.tenure[i], created_at: new Date(rows.ts[i]).toISOString() },
    score: rows.income[i] > 50 ? 0.9 : 0.2, prediction: rows.income[i] > 50 ? '1' : '0',
  }));
}

async function produce(broker, format, rows) {
  const kafka = new Kafka({ clientId: 'interop-node', brokers: [broker], logLevel: logLevel.ERROR });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const dead = {};
  let messages = 0;
  const send = async (values, compression = CompressionTypes.None, topic = 'predictions') => {
    await producer.send({ topic, compression, messages: values.map((value) => ({ value: Buffer.from(value) })) });
    messages += values.length;
  };
  const bad = slice(rows, 0, 10);
  bad.id = bad.id.map((id) => `bad-${id}`);
  if (format === 'arrow') {
    await send(arrowMessages(rows));
    for (let lo = 0; lo < rows.id.length; lo += 1000) {
      const ids = rows.id.slice(lo, lo + 1000);
      const outcomes = makeTable({
        id: vectorFromArray(ids, new Utf8()),
        model: vectorFromArray(Array(ids.length).fill('credit')),
        label: vectorFromArray(rows.label.slice(lo, lo + 1000), new Utf8()),
      });
      await send([tableToIPC(outcomes, 'stream')], CompressionTypes.GZIP, 'outcomes');
    }
    // Rejected whole: a model serve does not know, and LZ4 body compression
    // as arrow-js 21.2.0 writes it (the compressed length in each buffer's
    // prefix).
    await send([tableToIPC(table(bad, { model: 'fraud' }), 'stream')]);
    dead.unknown_model = 1;
    await send([RecordBatchStreamWriter.writeAll(table(bad), { compressionType: CompressionType.LZ4_FRAME }).toUint8Array(true)]);
    dead.malformed = 1;
  } else {
    const all = jsonMessages(rows);
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy];
    for (let lo = 0, k = 0; lo < all.length; lo += 250, k++) {
      await send(all.slice(lo, lo + 250), codecs[k % codecs.length]);
    }
    const outcomes = rows.id.map((id, i) => JSON.stringify({ id, model: 'credit', label: rows.label[i] }));
    await send(outcomes, CompressionTypes.GZIP, 'outcomes');
    await send(['{"id": "x", "model": "credit", "features": {']);
    dead.malformed = 1;
    await send([JSON.stringify({ id: 'y', model: 'fraud', version: 'v1', features: {} })]);
    dead.unknown_model = 1;
  }
  await producer.disconnect();
  // serve counts the prediction events of accepted messages and each
  // rejected message as one.
  const events = rows.id.length + 2;
  console.log(JSON.stringify({ messages, events, dead_letters: dead }));
}

const rowsOf = (path) => JSON.parse(readFileSync(path, 'utf8'));
switch (mode) {
  case 'produce':
    await produce(args[0], args[1], rowsOf(args[2]));
    break;
  case 'file':
    writeFileSync(args[1], tableToIPC(table(rowsOf(args[0])), 'file'));
    break;
  case 'lz4':
    writeFileSync(args[1], RecordBatchStreamWriter.writeAll(table(rowsOf(args[0])), { compressionType: CompressionType.LZ4_FRAME }).toUint8Array(true));
    break;
  default:
    console.error(`usage: node producer.mjs produce|file|lz4 ...; got ${mode}`);
    process.exit(2);
}

// Reads the dead-letter topic with a stock kafkajs consumer: no compression
// codec is registered beyond kafkajs's own (gzip), so this fails if serve
// writes its dead letters with a codec a plain kafkajs client cannot read.
//
//   node deadletters.mjs BROKER TOPIC COUNT
//
// prints {"reasons": {"reason": count, ...}, "errors": [cause, ...]} (the
// driftwatch-reason and driftwatch-error headers) once COUNT records were
// read, or exits 1 after 60 s.
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [broker, topic, count] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'interop-node-dlq', brokers: [broker], logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId: `interop-${process.pid}` });
const reasons = {};
const errors = [];
let seen = 0;
const timer = setTimeout(() => {
  console.error(`read ${seen} of ${count} dead letters in 60 s: ${JSON.stringify(reasons)}`);
  process.exit(1);
}, 60_000);
let failed = null;
consumer.on(consumer.events.CRASH, (e) => { failed = e.payload.error; });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await new Promise((resolve, reject) => {
  consumer.run({
    eachMessage: async ({ message }) => {
      const r = message.headers['driftwatch-reason']?.toString() ?? '(none)';
      reasons[r] = (reasons[r] ?? 0) + 1;
      errors.push(message.headers['driftwatch-error']?.toString() ?? '');
      if (++seen >= Number(count)) resolve();
    },
  }).catch(reject);
  const poll = setInterval(() => { if (failed) { clearInterval(poll); reject(failed); } }, 100);
});
clearTimeout(timer);
await consumer.disconnect();
console.log(JSON.stringify({ reasons, errors }));
process.exit(0);

// Traces a small nested function with the official LangSmith JS SDK and
// gives feedback on it, against the server named by LANGSMITH_ENDPOINT
// (internal/e2e/langsmith_jsclient_test.go runs it). Prints one JSON line with the
// ids the test looks for in ClickHouse.
import { Client } from "langsmith";
import { traceable, getCurrentRunTree } from "langsmith/traceable";

for (const name of ["LANGSMITH_ENDPOINT", "LANGSMITH_API_KEY", "LANGSMITH_PROJECT"]) {
  if (!process.env[name]) {
    console.error(`trace.mjs: ${name} is not set`);
    process.exit(2);
  }
}

const client = new Client();
const ids = {};

const lookup = traceable(
  async (query) => {
    ids.tool = getCurrentRunTree().id;
    return { hits: [`doc about ${query}`] };
  },
  { name: "lookup", run_type: "tool", client },
);

const llm = traceable(
  async (messages) => {
    ids.llm = getCurrentRunTree().id;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      role: "assistant",
      content: `answer to ${messages.at(-1).content}`,
      usage_metadata: { input_tokens: 27, output_tokens: 15, total_tokens: 42 },
    };
  },
  { name: "fake-llm", run_type: "llm", client, metadata: { ls_model_name: "fake-model" } },
);

const pipeline = traceable(
  async (question) => {
    const run = getCurrentRunTree();
    ids.root = run.id;
    ids.trace = run.trace_id;
    const reply = await llm([{ role: "user", content: question }]);
    const found = await lookup(reply.content);
    return { answer: reply.content, sources: found.hits };
  },
  { name: "pipeline", run_type: "chain", client, tags: ["runhook-e2e"] },
);

const out = await pipeline("what is runhook?");
if (!out.answer) {
  throw new Error("pipeline returned no answer");
}
// With a trace id, feedback goes into the SDK's multipart batches; without,
// it is posted to /feedback on its own.
const batched = await client.createFeedback(ids.root, "answer_usefulness", {
  score: 0.8,
  comment: "useful",
  traceId: ids.trace,
  sessionId: process.env.RUNHOOK_PROJECT_ID,
});
const direct = await client.createFeedback(ids.llm, "correctness", {
  score: true,
  value: "correct",
  sessionId: process.env.RUNHOOK_PROJECT_ID,
});
ids.feedback = { batched: batched.id, direct: direct.id };
await client.awaitPendingTraceBatches();
console.log(JSON.stringify(ids));

import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { refreshOnPush } from "../src/lib/task-push";

type View = { status: string };

/** A query whose reads the test answers one by one, as a database committing meanwhile would. */
function taskQuery() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const reads: Array<(v: View) => void> = [];
  const key = ["tasks.get", "tsk_1"];
  const observer = new QueryObserver<View>(client, { queryKey: key, queryFn: () => new Promise<View>((resolve) => reads.push(resolve)) });
  const unsubscribe = observer.subscribe(() => {});
  return { client, key, reads, observer, close: () => (unsubscribe(), client.clear()) };
}

describe("task page: a pushed status", () => {
  it("is shown even when the first read, under way when the push came, saw the task before the change", async () => {
    const q = taskQuery();
    expect(q.reads).toHaveLength(1); // the page's first read, started before the task completed
    const pushed = refreshOnPush(q.client, q.key, "completed");
    await expect.poll(() => q.reads.length).toBe(2);
    q.reads[0]!({ status: "running" }); // that first read answers late, with what it saw
    q.reads[1]!({ status: "completed" });
    await pushed;
    expect(q.client.getQueryData<View>(q.key)?.status).toBe("completed");
    expect(q.observer.getCurrentResult().data?.status).toBe("completed");
    q.close();
  });

  it("replaces a read under way when the view already holds an older status", async () => {
    const q = taskQuery();
    q.reads[0]!({ status: "queued" });
    await expect.poll(() => q.observer.getCurrentResult().data?.status).toBe("queued");
    void q.observer.refetch(); // a read that saw `running`…
    await expect.poll(() => q.reads.length).toBe(2);
    const pushed = refreshOnPush(q.client, q.key, "completed"); // …then the task completed
    await expect.poll(() => q.reads.length).toBe(3);
    q.reads[1]!({ status: "running" });
    q.reads[2]!({ status: "completed" });
    await pushed;
    expect(q.observer.getCurrentResult().data?.status).toBe("completed");
    q.close();
  });

  it("reads nothing again when the view already shows the pushed status", async () => {
    const q = taskQuery();
    q.reads[0]!({ status: "completed" });
    await expect.poll(() => q.observer.getCurrentResult().data?.status).toBe("completed");
    await refreshOnPush(q.client, q.key, "completed");
    expect(q.reads).toHaveLength(1);
    q.close();
  });
});

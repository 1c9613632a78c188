import type { QueryClient, QueryKey } from "@tanstack/react-query";

/**
 * A status pushed for the task whose view is cached under `key`: reads the view again unless it
 * already shows that status.
 *
 * A read under way may have started before the change was committed, and react-query hands a new
 * request the answer of a first fetch still in flight (it cancels only fetches that replace data),
 * so a page that merely invalidated could keep an old status for good once the push channel ends.
 * The read under way is cancelled first: the one that follows starts after the push, so it sees at
 * least the pushed status (the server commits a change before it announces it).
 */
export async function refreshOnPush(queryClient: QueryClient, key: QueryKey, status: string): Promise<void> {
  if (queryClient.getQueryData<{ status: string }>(key)?.status === status) return;
  await queryClient.cancelQueries({ queryKey: key, exact: true });
  await queryClient.invalidateQueries({ queryKey: key, exact: true });
}

// A cursor-paged list from the API (`{ items, nextCursor }`): first page, "load more", reload.
import type { Api } from './api.js';

export class PagedList<T> {
  items: T[] = [];
  nextCursor: string | null = null;

  constructor(
    private readonly api: Api,
    private readonly path: string,
    private readonly onLoaded: () => void,
    private readonly onError: (e: unknown) => void,
    private readonly pageSize = 100,
  ) {}

  /** The first page again (`more` false) or the next one appended. */
  async load(more = false): Promise<void> {
    try {
      const page = await this.api.get<{ items: T[]; nextCursor: string | null }>(this.path, { limit: this.pageSize, cursor: more ? this.nextCursor : undefined });
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.nextCursor = page.nextCursor;
      this.onLoaded();
    } catch (e) {
      this.onError(e);
    }
  }
}

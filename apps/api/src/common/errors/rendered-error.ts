/** An error as one API surface answers it: its status vocabulary, its envelope. */
export interface RenderedError<B extends object = object> {
  status: number;
  headers: Record<string, string>;
  body: B;
}

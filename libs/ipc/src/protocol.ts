/** A request answered once. */
export interface UnaryMethod<P = unknown, R = unknown> {
  params: P;
  result: R;
}

/** A request answered with a flow-controlled sequence of chunks, then one result. */
export interface StreamMethod<P = unknown, C = unknown, R = unknown> {
  params: P;
  chunk: C;
  result: R;
}

/** Both ends are typed by the same protocol declaration, so a method cannot drift between them. */
export interface IpcProtocol {
  unary: Record<string, UnaryMethod>;
  stream: Record<string, StreamMethod>;
}

export interface HandlerContext {
  /** Fires when the client cancels or disconnects; long handlers must stop at their next step. */
  signal: AbortSignal;
}

export interface StreamContext<C> extends HandlerContext {
  /** Resolves once the client has granted credit and the socket accepted the bytes. */
  send(chunk: C): Promise<void>;
}

export type UnaryHandlers<P extends IpcProtocol> = {
  [K in keyof P['unary']]: (params: P['unary'][K]['params'], ctx: HandlerContext) => Promise<P['unary'][K]['result']>;
};

export type StreamHandlers<P extends IpcProtocol> = {
  [K in keyof P['stream']]: (
    params: P['stream'][K]['params'],
    ctx: StreamContext<P['stream'][K]['chunk']>,
  ) => Promise<P['stream'][K]['result']>;
};

export interface IpcHandlers<P extends IpcProtocol> {
  unary: UnaryHandlers<P>;
  stream: StreamHandlers<P>;
}

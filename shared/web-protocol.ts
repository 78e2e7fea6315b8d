/**
 * How the browser UI and the headless web host (`mactella serve`) agree on the
 * WebSocket: the server answers with `WS_PROTOCOL`; the client also offers
 * `WS_TOKEN_PREFIX + token`, since a browser cannot set headers on a WebSocket.
 */
export const WS_PROTOCOL = 'mactella';
export const WS_TOKEN_PREFIX = 'mactella.token.';

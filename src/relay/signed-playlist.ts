/**
 * Appends a stream URL's signature to every URI in a playlist (pure), so a player that fetched the signed
 * playlist fetches signed segments without knowing anything of signatures: hls.js works unchanged.
 */
export function signPlaylist(text: string, query: string): string {
  if (!query) return text;
  const withQuery = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
  return text
    .split('\n')
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === '') return line;
      if (!trimmed.startsWith('#')) return withQuery(trimmed);
      return line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${withQuery(uri)}"`);
    })
    .join('\n');
}

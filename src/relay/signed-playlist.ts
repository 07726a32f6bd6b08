/** A playlist ready to be signed for any viewer: the query goes in at the places found once, in advance. */
export type SignablePlaylist = (query: string) => string;

const URI_ATTRIBUTE = /URI="([^"]*)"/g;

/**
 * Splits a playlist (pure) at every URI: each line that is not a tag or blank, and each URI="…" of a tag
 * (keys, maps). Signing it is then a join with the viewer's query, however many viewers share the file.
 */
export function signablePlaylist(text: string): SignablePlaylist {
  const pieces: string[] = [];
  const separators: string[] = [];
  let piece = '';
  const cutAfter = (uri: string) => {
    pieces.push(piece);
    separators.push(uri.includes('?') ? '&' : '?');
    piece = '';
  };
  text.split('\n').forEach((line, index) => {
    if (index > 0) piece += '\n';
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) {
      piece += trimmed;
      cutAfter(trimmed);
      return;
    }
    let from = 0;
    for (const match of line.matchAll(URI_ATTRIBUTE)) {
      const uri = match[1] ?? '';
      const uriEnd = match.index + 'URI="'.length + uri.length;
      piece += line.slice(from, uriEnd);
      cutAfter(uri);
      from = uriEnd;
    }
    piece += line.slice(from);
  });
  pieces.push(piece);
  return (query) => {
    if (!query) return text;
    let signed = pieces[0] ?? '';
    for (let i = 0; i < separators.length; i++) signed += `${separators[i]}${query}${pieces[i + 1]}`;
    return signed;
  };
}

/**
 * Appends a stream URL's signature to every URI in a playlist (pure), so a player that fetched the signed
 * playlist fetches signed segments without knowing anything of signatures: hls.js works unchanged.
 */
export function signPlaylist(text: string, query: string): string {
  return signablePlaylist(text)(query);
}

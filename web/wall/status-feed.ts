/** Live status of cameras from the relay's Server-Sent Events; EventSource reconnects and resumes by itself. */

export interface StatusChange {
  cameraId: string;
  to: string;
  reason: string | null;
  at: string;
}

export function followStatus(onChange: (change: StatusChange) => void): () => void {
  const source = new EventSource('/api/v1/events', { withCredentials: true });
  source.addEventListener('status', (event) => onChange(JSON.parse((event as MessageEvent).data)));
  return () => source.close();
}

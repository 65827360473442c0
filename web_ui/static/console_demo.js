// Scripted text calls (web_ui/static/demo_calls.json) played turn by turn, for demonstrations
// and training: each turn "settles" on screen like live speech, then is sent as an utterance.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function loadDemoCalls() {
  const r = await fetch("/static/demo_calls.json");
  if (!r.ok) return [];
  return (await r.json()).calls || [];
}

/** Seconds a turn takes to say: about 5 characters a second, 1–8 s. */
export function speakingTime(text) {
  return Math.max(1, Math.min(8, text.length / 5));
}

/**
 * Play a scripted call. ``api.post(turn)`` sends one utterance and resolves with the stored
 * utterance (it retries by itself while the server is away); ``api.partial(speaker, text)``
 * shows the text settling; ``pace()`` is the time factor (0.5 at 2×).
 */
export function playScript(turns, api) {
  let stopped = false;
  const done = (async () => {
    for (let i = 0; i < turns.length && !stopped; i++) {
      const turn = turns[i];
      const total = speakingTime(turn.text) * 1000 * api.pace();
      const started = performance.now();
      for (;;) {
        const t = Math.min(1, (performance.now() - started) / Math.max(1, total));
        const shown = turn.text.slice(0, Math.ceil(t * turn.text.length));
        api.partial(turn.speaker, shown, turn.text.slice(0, Math.max(0, shown.length - 4)));
        if (t >= 1 || stopped) break;
        await sleep(Math.min(150, total / 4));
      }
      if (stopped) break;
      await api.post(turn, i);
      api.progress(i + 1, turns.length);
    }
    api.partial(null);
  })();
  return { stop() { stopped = true; }, done };
}

// Call audio to the server: the audio websocket (reconnecting), a recording played in real
// time (1× or 2×), and the browser microphone. 16 kHz little-endian int16 frames of 100 ms.

const RATE = 16000;
const FRAME = RATE / 10; // samples per 100 ms frame
const MAX_QUEUED = 600; // frames kept while the connection is down (60 s)

function wsUrl(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

function toInt16(channels, from, to) {
  const n = to - from;
  const out = new Int16Array(n * channels.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels.length; c++) {
      const v = Math.max(-1, Math.min(1, channels[c][from + i]));
      out[i * channels.length + c] = v < 0 ? v * 0x8000 : v * 0x7fff;
    }
  }
  return out.buffer; // typed arrays are little-endian on every platform browsers run on
}

/** One audio stream of a call; reconnects (1, 2, 4 … 10 s) until finished or stopped. */
export class AudioStreamer {
  constructor(callId, start, { onStatus = () => {}, onError = () => {} } = {}) {
    this.callId = callId;
    this.start = start; // the start message (sample rate, channels, speaker)
    this.onStatus = onStatus;
    this.onError = onError;
    this.queue = [];
    this.ready = false;
    this.finishing = false;
    this.stopped = false;
    this.retry = 0;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const ws = new WebSocket(wsUrl(`/api/v1/calls/${encodeURIComponent(this.callId)}/audio`));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "start", encoding: "pcm_s16le", ...this.start }));
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "ready") {
        this.ready = true;
        this.retry = 0;
        this.onStatus("connected");
        this.flush();
      } else if (msg.type === "error") {
        this.fatal = msg.code === 1003 || msg.code === 1008 || msg.code === 1007;
        this.onError(msg.detail || "音频连接出错");
      } else if (msg.type === "end") {
        this.done = true;
      }
    };
    ws.onclose = () => {
      this.ready = false;
      if (this.done || this.stopped || this.fatal) {
        this.stopped = true;
        this.onStatus("closed");
        if (this.resolveEnd) this.resolveEnd();
        return;
      }
      this.onStatus("reconnecting");
      const wait = Math.min(10, 2 ** this.retry++) * 1000;
      setTimeout(() => this.connect(), wait);
    };
  }

  get connected() {
    return this.ready && this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(buffer) {
    this.sentBytes = (this.sentBytes || 0) + buffer.byteLength;
    this.queue.push(buffer);
    if (this.queue.length > MAX_QUEUED) this.queue.shift();
    this.flush();
  }

  flush() {
    if (!this.connected) return;
    while (this.queue.length) this.ws.send(this.queue.shift());
    if (this.finishing && !this.endSent) {
      this.endSent = true;
      this.ws.send(JSON.stringify({ type: "end" }));
    }
  }

  /** Send what is left and the end message; resolves when the server has finished. */
  finish(timeoutMs = 180000) {
    this.finishing = true;
    return new Promise((resolve) => {
      this.resolveEnd = resolve;
      this.flush();
      setTimeout(() => { this.stop(); resolve(); }, timeoutMs);
    });
  }

  stop() {
    this.stopped = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}

/** Decode a recording and resample it to 16 kHz, keeping two channels for stereo. */
export async function decodeRecording(arrayBuffer) {
  const probe = new OfflineAudioContext(1, 1, RATE);
  const decoded = await probe.decodeAudioData(arrayBuffer);
  const channels = Math.min(2, decoded.numberOfChannels);
  const length = Math.ceil(decoded.duration * RATE);
  const offline = new OfflineAudioContext(channels, length, RATE);
  const src = offline.createBufferSource();
  src.buffer = decoded;
  src.connect(offline.destination);
  src.start();
  const rendered = await offline.startRendering();
  const data = [];
  for (let c = 0; c < channels; c++) data.push(rendered.getChannelData(c));
  return { channels: data, duration: rendered.duration, original: decoded };
}

/** Play a decoded recording into the call in real time (× speed); returns a controller. */
export function playRecording(callId, rec, { speed = 1, monitor = false, onStatus, onError, onProgress, onDone }) {
  const stereo = rec.channels.length === 2;
  const start = stereo ? { sample_rate: RATE, channels: 2, caller_channel: "right" }
    : { sample_rate: RATE, channels: 1, speaker: "caller" };
  const streamer = new AudioStreamer(callId, start, { onStatus, onError });
  const total = rec.channels[0].length;
  let pos = 0;
  let clock = null; // [wall ms, sample position] while running
  let timer = null;
  let listen = null;

  const startMonitor = () => {
    if (!monitor) return;
    try {
      const ctx = new AudioContext();
      const src = ctx.createBufferSource();
      src.buffer = rec.original;
      src.playbackRate.value = speed;
      src.connect(ctx.destination);
      src.start(0, pos / RATE);
      listen = ctx;
    } catch { listen = null; }
  };
  const stopMonitor = () => { if (listen) { listen.close().catch(() => {}); listen = null; } };

  const tick = () => {
    if (streamer.stopped) return;
    if (!streamer.connected) { // paused while the server is away: nothing is skipped
      if (clock) { clock = null; stopMonitor(); }
      timer = setTimeout(tick, 100);
      return;
    }
    if (!clock) { clock = [performance.now(), pos]; startMonitor(); }
    const due = Math.min(total, clock[1] + Math.floor((performance.now() - clock[0]) / 1000 * RATE * speed));
    while (pos + FRAME <= due || (due === total && pos < total)) {
      const end = Math.min(total, pos + FRAME);
      streamer.send(toInt16(rec.channels, pos, end));
      pos = end;
    }
    onProgress && onProgress(pos / RATE, total / RATE);
    if (pos >= total) {
      stopMonitor();
      streamer.finish().then(() => onDone && onDone());
      return;
    }
    timer = setTimeout(tick, 50);
  };
  tick();
  return {
    stop() { clearTimeout(timer); stopMonitor(); pos = total; streamer.finish(60000).then(() => onDone && onDone()); },
    get streamer() { return streamer; },
  };
}

/** The microphone as one speaker of the call; returns a controller. */
export async function startMicrophone(callId, speaker, { onStatus, onError, onDone, onProgress }) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("此页面无法使用麦克风：请通过 https 或 localhost 打开工作台");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const ctx = new AudioContext({ sampleRate: RATE });
  const source = ctx.createMediaStreamSource(stream);
  const streamer = new AudioStreamer(callId, { sample_rate: RATE, channels: 1, speaker }, { onStatus, onError });
  let pending = new Float32Array(0);
  const take = (samples) => {
    const merged = new Float32Array(pending.length + samples.length);
    merged.set(pending);
    merged.set(samples, pending.length);
    let at = 0;
    for (; at + FRAME <= merged.length; at += FRAME) {
      streamer.send(toInt16([merged], at, at + FRAME));
      if (onProgress && (streamer.sentBytes / 2) % RATE === 0) onProgress(streamer.sentBytes / 2 / RATE);
    }
    pending = merged.slice(at);
  };
  let node;
  if (ctx.audioWorklet) {
    await ctx.audioWorklet.addModule("/static/console_mic_worklet.js");
    node = new AudioWorkletNode(ctx, "pcm-tap");
    node.port.onmessage = (ev) => take(ev.data);
  } else {
    node = ctx.createScriptProcessor(4096, 1, 1);
    node.onaudioprocess = (ev) => take(new Float32Array(ev.inputBuffer.getChannelData(0)));
  }
  source.connect(node);
  const mute = ctx.createGain();
  mute.gain.value = 0; // keep the graph pulling without echoing the microphone
  node.connect(mute).connect(ctx.destination);
  return {
    stop() {
      stream.getTracks().forEach((t) => t.stop());
      source.disconnect();
      node.disconnect();
      ctx.close().catch(() => {});
      if (pending.length) streamer.send(toInt16([pending], 0, pending.length));
      streamer.finish(60000).then(() => onDone && onDone());
    },
    get streamer() { return streamer; },
  };
}

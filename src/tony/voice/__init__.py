"""Speech in, speech out: espeak-ng speech (tts), channel conditions (audio), Whisper base transcripts (stt),
end-of-speech detection (endpoint), the streamed cascade (cascade) and its OpenAI-compatible server (serve) and
client (client), response latency (latency), word error rate (wer), the speech channel for any text scenario
(channel) and the voice-risk scenarios (risk). Modules import their heavy dependencies only when used."""

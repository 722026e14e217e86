"""The App API: chat, conversations, messages, files, audio, app info and their models."""

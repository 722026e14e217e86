"""The official `dify-client` package, used as its README shows, in a thread pool."""

import json

from dify_client import ChatClient

NAME = "dify-client (thread pool)"
SYNC = True


class Client:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        self.client = ChatClient(api_key)
        self.client.base_url = base_url

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def stream(self, query: str, user: str) -> str:
        parts: list[str] = []
        response = self.client.create_chat_message({}, query, user, response_mode="streaming")
        with response:
            response.raise_for_status()
            for line in response.iter_lines(decode_unicode=True):
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event["event"] == "message":
                    parts.append(event["answer"])
                elif event["event"] == "error":
                    raise RuntimeError(event["message"])
        return "".join(parts)

    def send(self, query: str, user: str) -> str:
        response = self.client.create_chat_message({}, query, user, response_mode="blocking")
        response.raise_for_status()
        return str(response.json()["answer"])

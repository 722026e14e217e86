"""requests + sseclient-py + json, in a thread pool (one Session per thread)."""

import json
import threading

import requests
import sseclient

from . import chat_body

NAME = "requests + sseclient-py"
SYNC = True


class Client:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        self.url = base_url + "/chat-messages"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.local = threading.local()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def stream(self, query: str, user: str) -> str:
        parts: list[str] = []
        headers = {**self.headers, "Accept": "text/event-stream"}
        body = chat_body(query, user, "streaming")
        with self._session().post(self.url, json=body, headers=headers, stream=True) as response:
            response.raise_for_status()
            for sse in sseclient.SSEClient(response).events():
                if sse.event != "message" or not sse.data:
                    continue
                event = json.loads(sse.data)
                if event["event"] == "message":
                    parts.append(event["answer"])
                elif event["event"] == "error":
                    raise RuntimeError(event["message"])
        return "".join(parts)

    def send(self, query: str, user: str) -> str:
        body = chat_body(query, user, "blocking")
        response = self._session().post(self.url, json=body, headers=self.headers)
        response.raise_for_status()
        return str(response.json()["answer"])

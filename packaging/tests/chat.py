#!/usr/bin/python3
"""A real chat against an installed parley, for scripts/test-deb (python3-websockets).

  chat.py create --public IP:PORT --staff IP:PORT --cafile CERT --user NAME --state FILE
      (password on standard input) signs in as an operator (POST /api/v1/session), opens the
      staff websocket, starts a chat as a visitor on /ws/visitor (site "main"), accepts it as
      the operator and answers; writes the conversation, its visitor token and the texts to FILE.
  chat.py check --public IP:PORT --cafile CERT --state FILE
      resumes that conversation as the visitor (`resume` with last_seq 0) and checks that the
      question and the answer come back, in order.

Exits 0 on success, 1 with a message otherwise. TLS is verified against the appliance's own
certificate (CERT), which names 127.0.0.1.
"""

import argparse
import asyncio
import http.client
import json
import ssl
import sys
import uuid

import websockets

TIMEOUT = 15


def tls(cafile):
    return ssl.create_default_context(cafile=cafile)


def login(staff, cafile, user, password):
    host, port = staff.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=tls(cafile), timeout=TIMEOUT)
    conn.request("POST", "/api/v1/session", body=json.dumps({"username": user, "password": password}),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"chat.py: sign-in as {user} answered {response.status}: {body[:200]!r}")
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("__Host-parley="):
            return value.split(";", 1)[0]
    raise SystemExit("chat.py: sign-in set no __Host-parley cookie")


async def until(ws, kind, conversation=None):
    """Reads frames until one of type `kind` (for `conversation`, if given); fails on an error frame."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if frame.get("type") == "error":
            raise SystemExit(f"chat.py: waiting for {kind}, got error {frame}")
        if frame.get("type") == kind and (conversation is None or frame.get("conversation") == conversation):
            return frame


async def create(args):
    password = sys.stdin.readline().strip()
    cookie = login(args.staff, args.cafile, args.user, password)
    question = f"Package test question {uuid.uuid4()}"
    answer = "Package test answer from the operator"
    async with websockets.connect(f"wss://{args.staff}/ws/staff", ssl=tls(args.cafile), origin=f"https://{args.staff}",
                                  extra_headers={"Cookie": cookie}) as staff:
        await until(staff, "hello")
        await until(staff, "status")
        async with websockets.connect(f"wss://{args.public}/ws/visitor", ssl=tls(args.cafile),
                                      origin=f"https://{args.public}") as visitor:
            hello = await until(visitor, "hello")
            if not hello.get("available"):
                raise SystemExit(f"chat.py: the signed-in operator is not available: {hello}")
            await visitor.send(json.dumps({"v": 1, "type": "start", "id": str(uuid.uuid4()), "site": "main",
                                           "name": "Package Test", "question": question}))
            started = await until(visitor, "started")
            conversation = started["conversation"]
            # Routing may give the chat to the operator at once; otherwise accept it from the queue.
            while True:
                frame = json.loads(await asyncio.wait_for(staff.recv(), TIMEOUT))
                if frame.get("type") in ("assigned", "accepted") and frame.get("conversation") == conversation:
                    break
                if frame.get("type") == "queue" and any(w.get("conversation") == conversation for w in frame.get("waiting", [])):
                    await staff.send(json.dumps({"v": 1, "type": "accept", "id": str(uuid.uuid4()), "conversation": conversation}))
            reply_id = str(uuid.uuid4())
            await staff.send(json.dumps({"v": 1, "type": "message", "id": reply_id, "conversation": conversation, "text": answer}))
            while True:
                frame = json.loads(await asyncio.wait_for(staff.recv(), TIMEOUT))
                if frame.get("type") == "error":
                    raise SystemExit(f"chat.py: the operator's answer was refused: {frame}")
                if frame.get("type") == "ack" and frame.get("id") == reply_id:
                    break
            await until(visitor, "message", conversation)
    state = {"conversation": conversation, "token": started["token"], "question": question, "answer": answer}
    with open(args.state, "w") as out:
        json.dump(state, out)
    print(f"chat.py: chat {conversation} started by a visitor and answered by {args.user}")


async def check(args):
    with open(args.state) as f:
        state = json.load(f)
    async with websockets.connect(f"wss://{args.public}/ws/visitor", ssl=tls(args.cafile),
                                  origin=f"https://{args.public}") as visitor:
        await until(visitor, "hello")
        await visitor.send(json.dumps({"v": 1, "type": "resume", "conversation": state["conversation"],
                                       "token": state["token"], "last_seq": 0}))
        await until(visitor, "resumed", state["conversation"])
        texts = []
        while len(texts) < 2:
            frame = await until(visitor, "message", state["conversation"])
            texts.append(frame.get("text"))
    if texts != [state["question"], state["answer"]]:
        raise SystemExit(f"chat.py: chat {state['conversation']} came back as {texts!r}")
    print(f"chat.py: chat {state['conversation']} is intact (question and answer, in order)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["create", "check"])
    parser.add_argument("--public", required=True)
    parser.add_argument("--staff")
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--user")
    parser.add_argument("--state", required=True)
    args = parser.parse_args()
    asyncio.run(create(args) if args.mode == "create" else check(args))


if __name__ == "__main__":
    main()

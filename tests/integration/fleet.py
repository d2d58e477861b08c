#!/usr/bin/python3
"""Test helper: enrols simulated agents and sends them batches through the
real protocol (POST /api/v1/enrol, gzip JSON to /api/v1/batches).

fleet.py URL SPEC.json STATE.json
SPEC: {"secrets": {commune: secret},
       "machines": [{"name", "commune", "software": [{name, publisher?}],
                     "usage": [[product, exe, user, day_offset, hour, hours]
                               or {product, exe, user, start, end}
                               (Unix seconds)
                               or {"type": "usage_day", product, exe,
                                   user, day, seconds, sessions, first,
                                   last}],
                     "days": [day offsets on which the agent reported]}]}
STATE gets {name: {"agent_id", "token"}} for later use."""
import gzip, json, os, ssl, sys, time, urllib.request, uuid

url, spec, state_path = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
now = int(os.environ.get("FLEET_NOW") or time.time())
today = now // 86400 * 86400
state = {}


def post(path, token, body, gz=False):
    data = json.dumps(body).encode()
    headers = {"Authorization": "Bearer " + token,
               "Content-Type": "application/json"}
    if gz:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    req = urllib.request.Request(url + path, data=data, headers=headers)
    ctx = None
    if os.environ.get("MUTU_CA_FILE"):
        ctx = ssl.create_default_context(cafile=os.environ["MUTU_CA_FILE"])
    with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
        return json.load(r)


for m in spec["machines"]:
    aid = str(uuid.uuid4())
    tok = post("/api/v1/enrol", spec["secrets"][m["commune"]],
               {"agent_id": aid, "hostname": m["name"]})["token"]
    state[m["name"]] = {"agent_id": aid, "token": tok}
    recs, seq = [], 0

    def add(rtype, t, data):
        global seq
        seq += 1
        recs.append({"seq": seq, "type": rtype, "time": t, "data": data})

    add("inventory", now, {"deviceid": aid, "content": {
        "hardware": {"name": m["name"]},
        "softwares": m["software"]}})
    for u in m.get("usage", []):
        if isinstance(u, dict):
            u = dict(u)
            rtype = u.pop("type", "usage")
            add(rtype, u["start"] if rtype == "usage" else u["first"], u)
            continue
        product, exe, user, off, hour, hours = u
        start = today - off * 86400 + hour * 3600
        add("usage", start, {"product": product, "exe": exe, "user": user,
                             "start": start,
                             "end": start + int(hours * 3600)})
    for off in m.get("days", []):  # the agent ran that day
        t = today - off * 86400 + 8 * 3600
        add("usage", t, {"product": "heartbeat-probe", "start": t,
                         "end": t + 60})
    ans = post("/api/v1/batches", tok, {"v": 1, "agent_id": aid,
               "epoch": "ab" * 8, "batch_id": "01", "records": recs}, gz=True)
    assert ans["ack_seq"] == seq and ans["applied"] == seq, ans
json.dump(state, open(state_path, "w"))

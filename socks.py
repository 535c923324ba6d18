import socket, time, sys, threading
HOST=("127.0.0.1",int(sys.argv[1]))
def conn():
    s=socket.socket(); s.settimeout(5); s.connect(HOST); return s
def alive(s):
    # returns seconds until server closes, or None
    s.settimeout(0.2)
    try:
        d=s.recv(4096)
        return d
    except socket.timeout: return None
    except Exception as e: return e
def watch(name, s, feed=None, maxt=20):
    t0=time.time()
    while time.time()-t0<maxt:
        if feed: 
            try: feed(s, time.time()-t0)
            except Exception as e: print(name,"send failed at %.1fs: %r"%(time.time()-t0,e)); return
        r=alive(s)
        if r is not None:
            print(name,"closed/answered after %.1fs: %r"%(time.time()-t0, r[:120] if isinstance(r,bytes) else r)); return
        time.sleep(0.8)
    print(name,"STILL OPEN after %ds"%maxt)
tests={}
def t_silent(): watch("silent", conn())
def t_partial_preface(): s=conn(); s.sendall(b"PRI * HTTP/2.0\r\n"); watch("h2-partial-preface", s)
def t_full_preface(): s=conn(); s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); watch("h2-full-preface-noframes", s)
def t_h2_settings_idle():
    s=conn(); s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"+b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"); watch("h2-settings-idle", s)
def t_h2_ping_keepalive():
    s=conn(); s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"+b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    def feed(s,t): s.sendall(b"\x00\x00\x08\x06\x00\x00\x00\x00\x00"+b"12345678")
    watch("h2-ping-every-0.8s", s, feed, 20)
def t_slow_headers():
    s=conn(); hdr=b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: "+b"a"*100+b"\r\n\r\n"; st={"i":0}
    def feed(s,t):
        if st["i"]<len(hdr)-4: s.sendall(hdr[st["i"]:st["i"]+1]); st["i"]+=1
    watch("slow-headers-1B/0.8s", s, feed)
def t_slow_body():
    s=conn(); s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    def feed(s,t): s.sendall(b" ")
    watch("slow-body-1B/0.8s", s, feed)
def t_slow_chunked():
    s=conn(); s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    def feed(s,t): s.sendall(b"1\r\n \r\n")
    watch("slow-chunked-body", s, feed)
def t_keepalive_idle():
    s=conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); time.sleep(0.3); s.recv(4096); watch("keepalive-idle-after-req", s)
def t_h2_slow_data():
    # h2c prior knowledge: SETTINGS, HEADERS for POST /graphql (literal, no huffman), then DATA 1 byte at a time
    def lit(n,v): return b"\x00"+bytes([len(n)])+n+bytes([len(v)])+v
    block=lit(b":method",b"POST")+lit(b":scheme",b"http")+lit(b":path",b"/graphql")+lit(b":authority",b"x")+lit(b"content-type",b"application/json")+lit(b"content-length",b"1000")
    hf=len(block).to_bytes(3,"big")+b"\x01\x04"+(1).to_bytes(4,"big")+block
    s=conn(); s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"+b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"+hf)
    def feed(s,t): s.sendall(b"\x00\x00\x01\x00\x00\x00\x00\x00\x01 ")
    # need to drain server frames; watch reads them and would report; so do custom loop
    t0=time.time(); s.settimeout(0.2); got=b""
    while time.time()-t0<20:
        try: feed(s,0)
        except Exception as e: print("h2-slow-data send failed at %.1fs %r"%(time.time()-t0,e)); return
        try:
            d=s.recv(65536)
            if not d: print("h2-slow-data closed at %.1fs; frames=%r"%(time.time()-t0,got[-80:])); return
            got+=d
            if b"\x00\x00\x00\x03" in got[9:] or b"\x07\x00" in got: pass
        except socket.timeout: pass
        time.sleep(0.8)
    print("h2-slow-data STILL OPEN after 20s; bytes from server:",len(got), got[-60:])
ths=[threading.Thread(target=f) for f in [t_silent,t_partial_preface,t_full_preface,t_h2_settings_idle,t_h2_ping_keepalive,t_slow_headers,t_slow_body,t_slow_chunked,t_keepalive_idle,t_h2_slow_data]]
[t.start() for t in ths]; [t.join() for t in ths]

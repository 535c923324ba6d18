import socket, time, sys
port=int(sys.argv[1]); n=int(sys.argv[2]); dur=float(sys.argv[3]); kind=sys.argv[4]
PRE=b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; SET=b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
WU=b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x01"
socks=[]
for i in range(n):
    s=socket.socket(); s.setblocking(True); s.settimeout(2)
    try: s.connect(("127.0.0.1",port))
    except Exception as e: print("connect fail",i,e); continue
    if kind=="h2wu": s.sendall(PRE+SET)
    socks.append(s)
print("opened",len(socks),flush=True)
t0=time.time()
while time.time()-t0<dur:
    alive=0
    for s in socks:
        try:
            if kind=="h2wu": s.sendall(WU)
            s.setblocking(False)
            try:
                d=s.recv(65536)
                if d==b"": raise ConnectionError()
            except BlockingIOError: pass
            alive+=1
        except Exception: pass
    print("t=%.0f alive=%d"%(time.time()-t0,alive),flush=True)
    time.sleep(1)

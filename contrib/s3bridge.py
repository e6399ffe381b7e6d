#!/usr/bin/env python3
"""Carry TCP connections across network namespaces through a unix socket
(tests only: tests/t_scaleout.sh).

    s3bridge.py listen-tcp PORT SOCKET    accept on 127.0.0.1:PORT, connect
                                          each connection to SOCKET
    s3bridge.py listen-unix SOCKET PORT   accept on SOCKET, connect each
                                          connection to 127.0.0.1:PORT

A runner "host" in its own network namespace has a loopback of its own, so
the S3 endpoint on the main namespace's loopback is out of its reach; the
file system is shared, as it is for PostgreSQL's unix socket.  Run
listen-unix in the main namespace and listen-tcp inside each host's
namespace on the same port number, and the same endpoint URL works on
every host (and so do the URLs the store hands out).
"""
import os
import socket
import sys
import threading


def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listener, connect):
    while True:
        c, _ = listener.accept()
        try:
            u = connect()
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()


def main():
    mode = sys.argv[1]
    if mode == 'listen-tcp':
        port, path = int(sys.argv[2]), sys.argv[3]
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(('127.0.0.1', port))

        def connect():
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.connect(path)
            return u
    elif mode == 'listen-unix':
        path, port = sys.argv[2], int(sys.argv[3])
        if os.path.exists(path):
            os.unlink(path)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)

        def connect():
            return socket.create_connection(('127.0.0.1', port))
    else:
        sys.exit('usage: s3bridge.py listen-tcp PORT SOCKET | '
                 'listen-unix SOCKET PORT')
    ls.listen(64)
    print('s3bridge %s ready' % mode, flush=True)
    serve(ls, connect)


if __name__ == '__main__':
    main()

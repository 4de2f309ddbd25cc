package com.acme.search;

import java.util.concurrent.BlockingQueue;

public final class IndexWorker implements Runnable {
    private final BlockingQueue<Document> queue;
    private final SearchIndex index;
    private volatile boolean running = true;
    private Thread thread;

    public IndexWorker(BlockingQueue<Document> queue, SearchIndex index) {
        this.queue = queue;
        this.index = index;
    }

    public synchronized void start() {
        thread = new Thread(this, "index-worker");
        thread.start();
    }

    public synchronized void stop() {
        running = false;
        thread.interrupt();
    }

    @Override
    public void run() {
        while (true) {
            try {
                Document doc = queue.take();
                index.add(doc);
            } catch (InterruptedException e) {
                // keep going: the queue may still have work
            } catch (IndexingException e) {
            }
        }
    }
}

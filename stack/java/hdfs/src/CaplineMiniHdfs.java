import java.io.File;
import java.util.concurrent.CountDownLatch;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * The local stack's HDFS: a NameNode and one DataNode in one JVM (Hadoop's MiniDFSCluster), at
 * fixed loopback ports so that WebHDFS redirects point at a DataNode address the host can reach.
 *
 * Usage: CaplineMiniHdfs BASE_DIR NAMENODE_RPC_PORT NAMENODE_HTTP_PORT DATANODE_HTTP_PORT
 *        DATANODE_DATA_PORT DATANODE_IPC_PORT
 *
 * The storage is formatted only when BASE_DIR holds no NameNode image yet, so files survive a
 * stop and start. SIGTERM shuts the cluster down cleanly (the shutdown hook).
 */
public final class CaplineMiniHdfs {
  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: CaplineMiniHdfs BASE_DIR NN_RPC NN_HTTP DN_HTTP DN_DATA DN_IPC");
      System.exit(2);
    }
    File base = new File(args[0]).getAbsoluteFile();
    int nnRpc = Integer.parseInt(args[1]);
    int nnHttp = Integer.parseInt(args[2]);
    String host = "127.0.0.1";

    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
    // Local development store: no permission checks, so any user.name may write under /.
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setInt("dfs.replication", 1);
    conf.set("dfs.datanode.http.address", host + ":" + args[3]);
    conf.set("dfs.datanode.address", host + ":" + args[4]);
    conf.set("dfs.datanode.ipc.address", host + ":" + args[5]);
    // The DataNode registers as 127.0.0.1, so CREATE/OPEN redirects name an address reachable here.
    conf.set("dfs.datanode.hostname", host);
    conf.set("dfs.namenode.rpc-address", host + ":" + nnRpc);
    conf.set("dfs.namenode.http-address", host + ":" + nnHttp);
    // One DataNode on one machine: leave safe mode as soon as the blocks are reported.
    conf.setInt("dfs.namenode.safemode.extension", 0);
    // Small disks on CI: do not refuse writes because the disk is nearly full.
    conf.setLong("dfs.datanode.du.reserved", 0L);
    conf.setLong("dfs.namenode.resource.du.reserved", 0L);
    // A file is closed once the NameNode has heard of its block from the DataNode, which is
    // usually a few ms after the write; the writer (the DataNode itself, for WebHDFS) asks again
    // after this delay, doubled each time. Hadoop's 400 ms made every small lake file cost
    // 0.4 s (compaction and short ranges write many).
    conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 20);

    // MiniDFSCluster keeps the first NameNode's image in BASE_DIR/name-0-1.
    boolean firstStart = !new File(base, "name-0-1/current/VERSION").exists();
    System.out.println("capline-hdfs: " + (firstStart ? "formatting new storage in " : "reusing storage in ") + base);

    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, base)
        .numDataNodes(1)
        .nameNodePort(nnRpc)
        .nameNodeHttpPort(nnHttp)
        .format(firstStart)
        .manageNameDfsDirs(true)
        .manageDataDfsDirs(true)
        // Keep the DataNode addresses configured above instead of random ports.
        .checkDataNodeAddrConfig(true)
        .waitSafeMode(true)
        .build();
    cluster.waitActive();
    System.out.println("capline-hdfs: ready, NameNode hdfs://" + host + ":" + nnRpc + ", WebHDFS http://" + host + ":" + nnHttp);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("capline-hdfs: shutting down");
      cluster.shutdown(false);
      stopped.countDown();
    }));
    stopped.await();
  }
}

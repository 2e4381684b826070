// A Kotlin/Wasm guest (WASI, WebAssembly GC and exception handling, built by the Kotlin
// compiler from Maven Central): a linked list of a million objects, a binary tree churned
// through many collections, a map, strings, and exceptions thrown across functions.
class Node(val value: Int, val next: Node?)

class Tree(val left: Tree?, val right: Tree?) {
    fun count(): Int = 1 + (left?.count() ?: 0) + (right?.count() ?: 0)
}

fun tree(depth: Int): Tree =
    if (depth == 0) Tree(null, null) else Tree(tree(depth - 1), tree(depth - 1))

class Odd(val n: Int) : Exception("odd: $n")

fun check(n: Int): Int {
    if (n % 2 == 1) throw Odd(n)
    return n
}

fun main() {
    // A million nodes, kept while trees are made and dropped.
    var list: Node? = null
    for (i in 1_000_000 downTo 1) list = Node(i, list)
    var churned = 0L
    for (round in 0 until 40) churned += tree(14).count()
    var sum = 0L
    var length = 0
    var p = list
    while (p != null) {
        sum += p.value
        length++
        p = p.next
    }
    println("list: $length nodes, sum $sum")
    println("trees: $churned nodes")

    val words = HashMap<String, Int>()
    for (i in 0 until 10_000) {
        val key = "k" + (i % 1000)
        words[key] = (words[key] ?: 0) + i
    }
    println("map: ${words.size} keys, k7 = ${words["k7"]}")

    var caught = 0
    var kept = 0L
    for (i in 0 until 100_000) {
        try {
            kept += check(i)
        } catch (e: Odd) {
            caught++
        }
    }
    println("exceptions: $caught caught, $kept kept")
}

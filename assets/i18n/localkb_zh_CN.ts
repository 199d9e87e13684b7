<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ChatView</name>
    <message>
        <location filename="../../app/gui/chat_view.py" line="171"/>
        <source>Earlier conversations</source>
        <translation>以前的对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="174"/>
        <source>Conversation:</source>
        <translation>对话：</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="176"/>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="176"/>
        <source>Start a new conversation</source>
        <translation>开始新的对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="177"/>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="177"/>
        <source>Rename this conversation</source>
        <translation>重命名此对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="178"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="178"/>
        <source>Delete this conversation</source>
        <translation>删除此对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="179"/>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="179"/>
        <source>Save this conversation as Markdown with its sources</source>
        <translation>将此对话及其来源导出为 Markdown</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="194"/>
        <source>Ask a question about your documents…</source>
        <translation>就你的文档提问…</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="197"/>
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="200"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="202"/>
        <source>Stop writing this answer</source>
        <translation>停止生成此回答</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="281"/>
        <source>Rename conversation</source>
        <translation>重命名对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="281"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="289"/>
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="290"/>
        <source>Delete “%1”?</source>
        <translation>删除“%1”？</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="300"/>
        <source>Export conversation</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="317"/>
        <source>There is nothing to search yet. Drag files or folders onto the window, or try the sample knowledge base, then ask again.</source>
        <translation>还没有可检索的内容。请把文件或文件夹拖到窗口中，或试用示例知识库，然后再提问。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="346"/>
        <location filename="../../app/gui/chat_view.py" line="407"/>
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="383"/>
        <source>Not found in the selected knowledge bases.</source>
        <translation>在所选知识库中没有找到答案。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="385"/>
        <source>Answered from the model’s own knowledge, not from your documents.</source>
        <translation>此回答来自模型自身的知识，而不是你的文档。</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/gui/chat_view.py" line="387"/>
        <source>%n passage(s) left out to fit the model’s context.</source>
        <translation>
            <numerusform>为适应模型的上下文长度，省略了 %n 段内容。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="436"/>
        <source>Asking: %1</source>
        <translation>检索范围：%1</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="437"/>
        <source>No knowledge base selected: add documents first.</source>
        <translation>未选择知识库：请先添加文档。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="592"/>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="458"/>
        <location filename="../../app/gui/chat_view.py" line="596"/>
        <source>LocalKB</source>
        <translation>LocalKB</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="512"/>
        <source>Loading the model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="516"/>
        <source>Reading %1 tokens of passages… %2%</source>
        <translation>正在阅读段落（共 %1 个 token）… %2%</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="518"/>
        <source>Writing the answer…</source>
        <translation>正在撰写回答…</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="520"/>
        <source>Preparing the answer…</source>
        <translation>正在准备回答…</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="521"/>
        <source>Searching your documents…</source>
        <translation>正在检索您的文档…</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="524"/>
        <source>Answer written by the model, citations checked against the passages:</source>
        <translation>模型生成的回答（引用已与段落核对）：</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="533"/>
        <source>From your documents</source>
        <translation>摘自您的文档</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="534"/>
        <source>quoted word for word; click a number to see the sentence in its source</source>
        <translation>逐字引用；点击编号可查看该句在原文中的位置</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="548"/>
        <source>The model’s answer kept repeating itself, so the quote from your documents is shown instead.</source>
        <translation>模型的回答不断重复，因此改为显示摘自您文档的原文。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="550"/>
        <source>The model’s answer only repeated the question or the passages, so the quote from your documents is shown instead.</source>
        <translation>模型的回答只是重复了问题或段落，因此改为显示摘自您文档的原文。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="558"/>
        <source>not found in the sources</source>
        <translation>来源中未找到</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="571"/>
        <source>No passage the model was given says this; check it before relying on it.</source>
        <translation>提供给模型的段落中都没有这句话的内容，请核实后再采用。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="573"/>
        <source>Not in the sources: %1</source>
        <translation>来源中没有：%1</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="577"/>
        <source>Citation corrected: the model cited %1, the passage that says this is %2.</source>
        <translation>引用已更正：模型引用了 %1，实际包含此内容的段落是 %2。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="579"/>
        <source>Citation added: the model cited nothing, the passage that says this is %1.</source>
        <translation>已补充引用：模型未标注引用，包含此内容的段落是 %1。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="585"/>
        <source>Sentences marked “not found in the sources” are not backed by any passage the model was given: they may be wrong.</source>
        <translation>标有“来源中未找到”的句子没有任何提供给模型的段落支持，可能有误。</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="596"/>
        <source>Sources</source>
        <translation>来源</translation>
    </message>
    <message>
        <location filename="../../app/gui/chat_view.py" line="621"/>
        <source>&lt;h2&gt;Ask your documents&lt;/h2&gt;&lt;p&gt;LocalKB answers questions from your own files and shows where each answer comes from. Everything stays on this computer.&lt;/p&gt;&lt;ol&gt;&lt;li&gt;&lt;b&gt;Add documents&lt;/b&gt;: drag files or folders anywhere onto this window, or &lt;a href=&quot;action:add&quot;&gt;pick files&lt;/a&gt;.&lt;/li&gt;&lt;li&gt;&lt;b&gt;Ask&lt;/b&gt; a question below, in English or Chinese.&lt;/li&gt;&lt;li&gt;&lt;b&gt;Click a citation&lt;/b&gt; like [1] to see the page with the passage highlighted.&lt;/li&gt;&lt;/ol&gt;&lt;p&gt;New here? &lt;a href=&quot;action:sample&quot;&gt;Try the sample knowledge base&lt;/a&gt; — a few short company documents, indexed in seconds.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;向你的文档提问&lt;/h2&gt;&lt;p&gt;LocalKB 根据你自己的文件回答问题，并标明每个回答的出处。所有数据都留在这台电脑上。&lt;/p&gt;&lt;ol&gt;&lt;li&gt;&lt;b&gt;添加文档&lt;/b&gt;：把文件或文件夹拖到窗口的任意位置，或&lt;a href=&quot;action:add&quot;&gt;选择文件&lt;/a&gt;。&lt;/li&gt;&lt;li&gt;在下方用中文或英文&lt;b&gt;提问&lt;/b&gt;。&lt;/li&gt;&lt;li&gt;&lt;b&gt;点击引用&lt;/b&gt;（如 [1]），查看原文页面和高亮的段落。&lt;/li&gt;&lt;/ol&gt;&lt;p&gt;第一次使用？&lt;a href=&quot;action:sample&quot;&gt;试用示例知识库&lt;/a&gt;——几份简短的公司文档，几秒钟即可建好索引。&lt;/p&gt;</translation>
    </message>
</context>
<context>
    <name>FoldersPanel</name>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="27"/>
        <source>One pattern per line, as in .gitignore: &lt;code&gt;*.tmp&lt;/code&gt; skips files, &lt;code&gt;drafts/&lt;/code&gt; skips a folder, &lt;code&gt;!keep.tmp&lt;/code&gt; takes one back.</source>
        <translation>每行一条规则，写法同 .gitignore：&lt;code&gt;*.tmp&lt;/code&gt; 跳过文件，&lt;code&gt;drafts/&lt;/code&gt; 跳过文件夹，&lt;code&gt;!keep.tmp&lt;/code&gt; 重新包含某个文件。</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="60"/>
        <source>&lt;b&gt;Followed folders&lt;/b&gt;</source>
        <translation>&lt;b&gt;同步的文件夹&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="61"/>
        <source>Files added, changed, moved or deleted in these folders are applied to the knowledge base automatically.</source>
        <translation>在这些文件夹中新增、修改、移动或删除的文件会自动同步到知识库。</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="63"/>
        <source>Follow…</source>
        <translation>同步文件夹…</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="63"/>
        <source>Follow a folder: keep this knowledge base in sync with it</source>
        <translation>同步一个文件夹：让此知识库与它保持一致</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="65"/>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="65"/>
        <source>Compare the folders with the index now</source>
        <translation>立即将文件夹与索引比对</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="66"/>
        <location filename="../../app/gui/folders_panel.py" line="161"/>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="66"/>
        <source>Pause or resume watching</source>
        <translation>暂停或恢复监视</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="67"/>
        <source>Ignore…</source>
        <translation>忽略规则…</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="67"/>
        <source>Files and folders that are never indexed</source>
        <translation>永不索引的文件和文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="68"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="68"/>
        <source>Stop following the selected folder; its documents stay</source>
        <translation>停止同步所选文件夹；其文档保留</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="137"/>
        <source>folder not found</source>
        <translation>找不到文件夹</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/gui/folders_panel.py" line="139"/>
        <source>syncing %n file(s)</source>
        <translation>
            <numerusform>正在同步 %n 个文件</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="141"/>
        <source>watching</source>
        <translation>监视中</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="143"/>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="145"/>
        <source>error: %1</source>
        <translation>出错：%1</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="147"/>
        <source>not watching</source>
        <translation>未监视</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="150"/>
        <source>last sync %1</source>
        <translation>上次同步 %1</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="151"/>
        <source>never synced</source>
        <translation>从未同步</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="161"/>
        <source>Resume</source>
        <translation>恢复</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="166"/>
        <source>Follow a folder</source>
        <translation>同步一个文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/folders_panel.py" line="194"/>
        <source>Ignore rules for “%1”</source>
        <translation>“%1”的忽略规则</translation>
    </message>
</context>
<context>
    <name>LibraryView</name>
    <message>
        <location filename="../../app/gui/library_view.py" line="52"/>
        <source>Select one knowledge base, or several with Ctrl/Shift to ask across them.</source>
        <translation>选择一个知识库；按住 Ctrl/Shift 可同时选择多个并跨库提问。</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="57"/>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="57"/>
        <source>Create a knowledge base</source>
        <translation>创建知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="58"/>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="58"/>
        <source>Rename the current knowledge base</source>
        <translation>重命名当前知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="59"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="59"/>
        <source>Delete the current knowledge base and its index</source>
        <translation>删除当前知识库及其索引</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="62"/>
        <source>&lt;b&gt;Knowledge bases&lt;/b&gt;</source>
        <translation>&lt;b&gt;知识库&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="70"/>
        <source>Filter documents…</source>
        <translation>筛选文档…</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="73"/>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="73"/>
        <source>Add files to the current knowledge base</source>
        <translation>向当前知识库添加文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="76"/>
        <source>Document</source>
        <translation>文档</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="76"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="76"/>
        <source>Pages</source>
        <translation>页数</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="77"/>
        <source>Chunks</source>
        <translation>片段</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="77"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="149"/>
        <source>&lt;h3&gt;No documents yet&lt;/h3&gt;&lt;p&gt;Drag files or whole folders onto this window: PDF, Word, PowerPoint, Excel, HTML, Markdown, text, e-mail, images.&lt;/p&gt;&lt;p&gt;They are read and indexed on this computer; nothing is uploaded.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;还没有文档&lt;/h3&gt;&lt;p&gt;把文件或整个文件夹拖到此窗口：PDF、Word、PowerPoint、Excel、HTML、Markdown、文本、电子邮件、图片。&lt;/p&gt;&lt;p&gt;文件在本机读取和建立索引，不会上传到任何地方。&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="155"/>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="157"/>
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="159"/>
        <source>Try the sample knowledge base</source>
        <translation>试用示例知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="160"/>
        <source>Indexes a few short example documents so you can ask a question and see a cited answer right away.</source>
        <translation>为几份简短的示例文档建立索引，让你马上提问并看到带引用的回答。</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="259"/>
        <source>damaged</source>
        <translation>已损坏</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/gui/library_view.py" line="263"/>
        <source>%n document(s)</source>
        <translation>
            <numerusform>%n 个文档</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="264"/>
        <source>%1 documents, %2 passages
Embedder: %3</source>
        <translation>%1 个文档，%2 个片段
嵌入模型：%3</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="225"/>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="241"/>
        <source>&lt;b&gt;Documents in %1&lt;/b&gt;</source>
        <translation>&lt;b&gt;%1 中的文档&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="243"/>
        <source>&lt;b&gt;Documents&lt;/b&gt;</source>
        <translation>&lt;b&gt;文档&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="287"/>
        <source>Click Rebuild in the message bar to rebuild it (or run localkb repair); the damaged files are kept aside.</source>
        <translation>点击消息栏中的“重建”按钮重建它（或运行 localkb repair）；损坏的文件会另存一旁。</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="291"/>
        <source>indexed</source>
        <translation>已索引</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="291"/>
        <source>pending</source>
        <translation>等待中</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="291"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="313"/>
        <source>New knowledge base</source>
        <translation>新建知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="313"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="320"/>
        <source>Rename knowledge base</source>
        <translation>重命名知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="320"/>
        <source>New name:</source>
        <translation>新名称：</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="327"/>
        <source>Delete knowledge base</source>
        <translation>删除知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="328"/>
        <source>Delete “%1” and its index? Your original files are not touched.</source>
        <translation>删除“%1”及其索引？你的原始文件不受影响。</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="332"/>
        <source>Add documents</source>
        <translation>添加文档</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="337"/>
        <source>Add a folder</source>
        <translation>添加文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="350"/>
        <source>Re-index</source>
        <translation>重新索引</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="352"/>
        <source>Remove from knowledge base</source>
        <translation>从知识库中移除</translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="354"/>
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/gui/library_view.py" line="362"/>
        <source>Remove %n document(s) from “%1”? The files on disk are not touched.</source>
        <translation>
            <numerusform>从“%1”中移除 %n 个文档？磁盘上的文件不受影响。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/gui/library_view.py" line="363"/>
        <source>Remove documents</source>
        <translation>移除文档</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/gui/main_window.py" line="121"/>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="127"/>
        <source>Adding documents</source>
        <translation>正在添加文档</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="135"/>
        <source>Drop files or folders anywhere on this window to add them.</source>
        <translation>把文件或文件夹拖到窗口任意位置即可添加。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="167"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="168"/>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="169"/>
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="170"/>
        <source>Add the sample knowledge base</source>
        <translation>添加示例知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="172"/>
        <source>New conversation</source>
        <translation>新建对话</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="173"/>
        <source>Export conversation…</source>
        <translation>导出对话…</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="175"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="176"/>
        <source>&amp;Tools</source>
        <translation>工具(&amp;T)</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="177"/>
        <source>Models…</source>
        <translation>模型…</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="178"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="179"/>
        <source>Load the model now</source>
        <translation>立即加载模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="180"/>
        <source>Open the log folder</source>
        <translation>打开日志文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="182"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="183"/>
        <location filename="../../app/gui/main_window.py" line="350"/>
        <source>About LocalKB</source>
        <translation>关于 LocalKB</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="207"/>
        <source>Rebuilding reads it again from what is left of it and from your files; the damaged files are kept aside.</source>
        <translation>重建会从它残存的内容和你的文件重新读取；损坏的文件会另存一旁。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="209"/>
        <source>Rebuild &apos;%1&apos;</source>
        <translation>重建“%1”</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="225"/>
        <source>%1 was indexed with another embedding model than the one set now (an earlier version&apos;s default, or a settings change). It still answers; new files can be added once it is re-indexed, which reads its files again.</source>
        <translation>%1 使用的嵌入模型与当前设置的不同（早期版本的默认模型，或设置已更改）。它仍可回答问题；重新索引（会重新读取其文件）后才能添加新文件。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="228"/>
        <source>Re-index</source>
        <translation>重新索引</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="235"/>
        <source>Knowledge base &apos;%1&apos; could not be fully rebuilt: %2</source>
        <translation>知识库“%1”未能完全重建：%2</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="239"/>
        <source>Knowledge base &apos;%1&apos; is sound: nothing needed rebuilding.</source>
        <translation>知识库“%1”完好，无需重建。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="242"/>
        <source>Knowledge base &apos;%1&apos; was rebuilt: %2.</source>
        <translation>知识库“%1”已重建：%2。</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/gui/main_window.py" line="244"/>
        <source>%n file(s) it held are gone from disk.</source>
        <translation>
            <numerusform>其中 %n 个文件已不在磁盘上。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="246"/>
        <source>The damaged files were kept in %1.</source>
        <translation>损坏的文件保存在 %1。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="251"/>
        <source>no model</source>
        <translation>无模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="252"/>
        <source>not loaded (loads with the first question)</source>
        <translation>未加载（首次提问时加载）</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="253"/>
        <source>loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="253"/>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="255"/>
        <source>Model: %1 — %2</source>
        <translation>模型：%1 — %2</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="285"/>
        <source>How much can I spend on a hotel night when travelling?</source>
        <translation>出差时每晚住宿费用的上限是多少？</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="328"/>
        <source>Re-index with the new embedder?</source>
        <translation>使用新的嵌入模型重新索引？</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="329"/>
        <source>These knowledge bases were indexed with another embedding model: %1.
Vectors from two models cannot be mixed, so they must be re-indexed to use the new one. Re-index now?</source>
        <translation>以下知识库是用另一个嵌入模型建立索引的：%1。
两个模型的向量不能混用，必须重新索引才能使用新模型。现在重新索引吗？</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="340"/>
        <source>The embedder was not changed, so your knowledge bases stay searchable.</source>
        <translation>嵌入模型没有更改，你的知识库仍可正常检索。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="345"/>
        <source>The interface language changes when LocalKB is restarted.</source>
        <translation>界面语言将在重新启动 LocalKB 后生效。</translation>
    </message>
    <message>
        <location filename="../../app/gui/main_window.py" line="351"/>
        <source>&lt;b&gt;LocalKB&lt;/b&gt;&lt;br&gt;Ask questions about your own files, offline.&lt;br&gt;Data folder: %1&lt;br&gt;Log file: %2</source>
        <translation>&lt;b&gt;LocalKB&lt;/b&gt;&lt;br&gt;离线地向你自己的文件提问。&lt;br&gt;数据文件夹：%1&lt;br&gt;日志文件：%2</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <location filename="../../app/gui/models_page.py" line="33"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="39"/>
        <source>Built-in model</source>
        <translation>内置模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="39"/>
        <source>Languages</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="39"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="39"/>
        <source>Speed (measured)</source>
        <translation>速度（实测）</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="40"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="50"/>
        <source>Folder searched (with its subfolders) for .gguf model files</source>
        <translation>在此文件夹（含子文件夹）中查找 .gguf 模型文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="51"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="53"/>
        <source>Scan</source>
        <translation>扫描</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="56"/>
        <source>Models folder:</source>
        <translation>模型文件夹：</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="61"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="61"/>
        <source>Architecture</source>
        <translation>架构</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="61"/>
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="61"/>
        <source>Quantization</source>
        <translation>量化</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="62"/>
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="62"/>
        <source>Chat template</source>
        <translation>对话模板</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="62"/>
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="62"/>
        <source>Memory needed</source>
        <translation>所需内存</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="68"/>
        <source>Choose adapter…</source>
        <translation>选择适配器…</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="70"/>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="73"/>
        <source>LoRA adapter:</source>
        <translation>LoRA 适配器：</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="78"/>
        <source>Memory needed = model weights + the context (%1 tokens) + working space. Models larger than your free memory will be slow or fail to load.</source>
        <translation>所需内存 = 模型权重 + 上下文（%1 个 token）+ 运算空间。超过可用内存的模型会很慢或无法加载。</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="84"/>
        <source>Use this model</source>
        <translation>使用此模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="87"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="119"/>
        <source>Models folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="125"/>
        <source>Scanning…</source>
        <translation>正在扫描…</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="146"/>
        <source>Chinese</source>
        <translation>中文</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="146"/>
        <source>English</source>
        <translation>英文</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="151"/>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="153"/>
        <source>prepared on first use (joins %1 once)</source>
        <translation>首次使用时准备（一次性合并 %1）</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="179"/>
        <source>yes</source>
        <translation>有</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="179"/>
        <source>no — pick one in Settings</source>
        <translation>无——请在设置中选择</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="193"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="199"/>
        <source>none (scale 1)</source>
        <translation>无（缩放 1）</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="200"/>
        <source>%1 — %2, alpha %3, rank %4, %5 weight matrices</source>
        <translation>%1 — %2，alpha %3，秩 %4，%5 个权重矩阵</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="208"/>
        <source>LoRA adapter</source>
        <translation>LoRA 适配器</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="209"/>
        <source>LoRA adapters (*.gguf)</source>
        <translation>LoRA 适配器 (*.gguf)</translation>
    </message>
    <message>
        <location filename="../../app/gui/models_page.py" line="140"/>
        <source>%1 model file(s) found. Current: %2</source>
        <translation>找到 %1 个模型文件。当前：%2</translation>
    </message>
</context>
<context>
    <name>ProgressPanel</name>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="45"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="46"/>
        <source>Stop after the current file; documents already indexed stay.</source>
        <translation>在当前文件后停止；已索引的文档会保留。</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="48"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="58"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="58"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="58"/>
        <source>Chunks</source>
        <translation>片段</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="58"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="84"/>
        <source>Adding to “%1”</source>
        <translation>正在添加到“%1”</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="86"/>
        <source>Looking for files…</source>
        <translation>正在查找文件…</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="92"/>
        <source>reading…</source>
        <translation>读取中…</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="92"/>
        <source>added</source>
        <translation>已添加</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="92"/>
        <source>unchanged</source>
        <translation>未变化</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="93"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="93"/>
        <source>removed</source>
        <translation>已移除</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="114"/>
        <source>%v of %m files</source>
        <translation>%v / %m 个文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="115"/>
        <source>%1 of %2 chunks</source>
        <translation>%1 / %2 个片段</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="117"/>
        <source>%1 chunks</source>
        <translation>%1 个片段</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="118"/>
        <source>time left: %1</source>
        <translation>剩余时间：%1</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="125"/>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="127"/>
        <source>Documents finished before stopping stay indexed.</source>
        <translation>停止前完成的文档会保留在索引中。</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="131"/>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="132"/>
        <source>Finished</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="133"/>
        <source>%1 added, %2 unchanged, %3 failed · %4 chunks in %5 s</source>
        <translation>新增 %1，未变化 %2，失败 %3 · %4 个片段，用时 %5 秒</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="140"/>
        <source>Stopped by an error</source>
        <translation>因错误而停止</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="142"/>
        <source>Not finished: see the message at the top of the window. Documents finished before the error stay indexed.</source>
        <translation>未完成：请查看窗口顶部的消息。出错前已完成的文档仍保留在索引中。</translation>
    </message>
    <message>
        <location filename="../../app/gui/progress_panel.py" line="148"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
</context>
<context>
    <name>ServiceBridge</name>
    <message>
        <location filename="../../app/gui/bridge.py" line="167"/>
        <source>Rebuilding knowledge base &apos;%1&apos;…</source>
        <translation>正在重建知识库“%1”…</translation>
    </message>
    <message>
        <location filename="../../app/gui/bridge.py" line="224"/>
        <source>%1 file(s) in followed folders could not be read; see their reasons in the list.</source>
        <translation>同步文件夹中有 %1 个文件无法读取；原因见文档列表。</translation>
    </message>
</context>
<context>
    <name>Settings</name>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="16"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="17"/>
        <source>The chat model (llama.cpp) and how it runs.</source>
        <translation>对话模型（llama.cpp）及其运行方式。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="18"/>
        <source>Model file (GGUF)</source>
        <translation>模型文件（GGUF）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="19"/>
        <source>A .gguf file; empty uses the built-in model chosen below.</source>
        <translation>一个 .gguf 文件；留空则使用下面选择的内置模型。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="20"/>
        <source>Built-in model</source>
        <translation>内置模型</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="21"/>
        <source>Used when no model file is set: Qwen2.5-1.5B (Chinese and English, default) or SmolLM2-135M (English, fast, low memory, answers poorly).</source>
        <translation>未设置模型文件时使用：Qwen2.5-1.5B（中英文，默认）或 SmolLM2-135M（仅英文，速度快、内存小，回答质量差）。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="22"/>
        <source>Models folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="23"/>
        <source>Folder scanned for .gguf files on the models page; empty uses LOCALKB_HOME/models.</source>
        <translation>模型页面扫描 .gguf 文件的文件夹；留空则使用 LOCALKB_HOME/models。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="24"/>
        <source>Chat template</source>
        <translation>对话模板</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="25"/>
        <source>&apos;auto&apos; uses the template stored in the GGUF file; pick one for old conversions that lack it.</source>
        <translation>“auto”使用 GGUF 文件中保存的模板；较旧的转换文件缺少模板时请手动选择。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="26"/>
        <source>Context length</source>
        <translation>上下文长度</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="27"/>
        <source>Tokens the model sees at once: passages, history, question and answer.</source>
        <translation>模型一次能看到的 token 数：段落、历史、问题和回答。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="28"/>
        <source>Threads</source>
        <translation>线程数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="29"/>
        <source>CPU threads for the model; 0 picks the number of physical cores.</source>
        <translation>模型使用的 CPU 线程数；0 表示使用物理核心数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="30"/>
        <source>GPU layers</source>
        <translation>GPU 层数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="31"/>
        <source>Layers offloaded to the GPU; -1 offloads all, 0 runs on the CPU.</source>
        <translation>放到 GPU 上运行的层数；-1 表示全部，0 表示只用 CPU。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="32"/>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="33"/>
        <source>Higher is more varied; low keeps answers close to the passages.</source>
        <translation>越高回答越多样；越低越贴近原文段落。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="34"/>
        <source>Repeat penalty</source>
        <translation>重复惩罚</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="35"/>
        <source>Discourages repeating recent tokens; 0 uses the model&apos;s own default (1.05 for Qwen, 1.15 for SmolLM2, 1.1 for other files).</source>
        <translation>抑制重复最近生成的内容；0 表示使用模型自身的默认值（Qwen 为 1.05，SmolLM2 为 1.15，其他文件为 1.1）。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="36"/>
        <source>Max answer tokens</source>
        <translation>回答最大 token 数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="37"/>
        <source>Longest answer, in tokens; also reserved out of the context for the answer.</source>
        <translation>回答的最大长度（token），也会从上下文中为回答预留。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="38"/>
        <source>LoRA adapter (GGUF)</source>
        <translation>LoRA 适配器（GGUF）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="39"/>
        <source>Optional LoRA adapter applied to the model.</source>
        <translation>可选，应用到模型上的 LoRA 适配器。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="40"/>
        <source>Embedding</source>
        <translation>嵌入</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="41"/>
        <source>The sentence-transformers model that turns text into vectors.</source>
        <translation>把文本转换为向量的 sentence-transformers 模型。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="42"/>
        <source>Embedding model folder</source>
        <translation>嵌入模型文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="43"/>
        <source>A local sentence-transformers model folder; empty uses the built-in all-MiniLM-L6-v2.</source>
        <translation>本地 sentence-transformers 模型文件夹；留空则使用内置的 all-MiniLM-L6-v2。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="44"/>
        <source>Embedder languages</source>
        <translation>嵌入模型支持的语言</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="45"/>
        <source>Comma-separated ISO codes the embedder understands (en, zh, ...); empty reads them from the model card.</source>
        <translation>嵌入模型能理解的语言代码，用逗号分隔（en, zh, ...）；留空则从模型说明中读取。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="46"/>
        <source>Embedding batch size</source>
        <translation>嵌入批大小</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="47"/>
        <source>Chunks embedded per batch.</source>
        <translation>每批嵌入的片段数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="48"/>
        <source>Embedding runtime</source>
        <translation>嵌入模型运行方式</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="49"/>
        <source>openvino (default): the same vectors as torch, computed in bfloat16 on CPUs that support it (3.5 times torch&apos;s speed on a recent Xeon). onnx-int8: faster than torch on older CPUs, but a different embedder as far as a knowledge base is concerned, so switching to or from it re-indexes. onnx: the same vectors as torch through onnxruntime. torch: needs PyTorch installed.</source>
        <translation>openvino（默认）：与 torch 相同的向量，在支持 bfloat16 的 CPU 上以 bfloat16 计算（在较新的至强处理器上约为 torch 的 3.5 倍速度）。onnx-int8：在较旧的 CPU 上比 torch 快，但对知识库而言是另一个嵌入模型，切换到它或从它切换都会重新索引。onnx：通过 onnxruntime 得到与 torch 相同的向量。torch：需要安装 PyTorch。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="50"/>
        <source>Reading files</source>
        <translation>读取文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="51"/>
        <source>How files become chunks.</source>
        <translation>文件如何被切分成片段。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="52"/>
        <source>Chunk size (characters)</source>
        <translation>片段长度（字符）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="53"/>
        <source>Longest chunk, in characters.</source>
        <translation>片段的最大长度（字符）。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="54"/>
        <source>Chunk overlap (characters)</source>
        <translation>片段重叠（字符）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="55"/>
        <source>Characters repeated between neighbouring chunks of the same page.</source>
        <translation>同一页相邻片段之间重复的字符数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="56"/>
        <source>Largest file (MB)</source>
        <translation>最大文件（MB）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="57"/>
        <source>Files above this size are refused.</source>
        <translation>超过此大小的文件将被拒绝。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="58"/>
        <source>Time per file (s)</source>
        <translation>每个文件的时限（秒）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="59"/>
        <source>A file that takes longer to read fails alone.</source>
        <translation>读取超时的文件单独失败，不影响其他文件。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="60"/>
        <source>Most pages per file</source>
        <translation>每个文件最多页数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="61"/>
        <source>Pages beyond this are not read; the document notes it.</source>
        <translation>超出的页不会被读取，文档中会注明。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="62"/>
        <source>OCR scanned pages</source>
        <translation>识别扫描页（OCR）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="63"/>
        <source>Read images and PDF pages without a text layer with offline OCR.</source>
        <translation>用离线 OCR 读取图片和没有文字层的 PDF 页面。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="64"/>
        <source>Parser processes</source>
        <translation>解析进程数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="65"/>
        <source>Processes that read files while the embedder runs.</source>
        <translation>在嵌入模型运行的同时读取文件的进程数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="66"/>
        <source>Retrieval</source>
        <translation>检索</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="67"/>
        <source>How passages are found for a question.</source>
        <translation>如何为问题找到相关段落。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="68"/>
        <source>Passages per answer</source>
        <translation>每个回答使用的段落数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="69"/>
        <source>Passages given to the model.</source>
        <translation>提供给模型的段落数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="70"/>
        <source>Candidates per retriever</source>
        <translation>每个检索器的候选数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="71"/>
        <source>Passages each retriever proposes before fusion and reranking.</source>
        <translation>融合和重排序之前，每个检索器给出的段落数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="72"/>
        <source>Score threshold</source>
        <translation>分数阈值</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="73"/>
        <source>Passages scoring below this (0-1 after fusion) are dropped; none left means &apos;not in your documents&apos;.</source>
        <translation>融合后分数（0–1）低于此值的段落会被丢弃；如果一个都不剩，就回答“文档中没有”。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="74"/>
        <source>Reranker model folder</source>
        <translation>重排序模型文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="75"/>
        <source>Optional local cross-encoder model folder; empty turns reranking off.</source>
        <translation>可选的本地 cross-encoder 模型文件夹；留空则不重排序。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="76"/>
        <source>Merge neighbouring chunks</source>
        <translation>合并相邻片段</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="77"/>
        <source>Join adjacent chunks of the same page into one passage.</source>
        <translation>把同一页上相邻的片段合并成一个段落。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="78"/>
        <source>Answers</source>
        <translation>回答</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="79"/>
        <source>How answers are written.</source>
        <translation>回答的生成方式。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="80"/>
        <source>When documents lack the answer</source>
        <translation>文档中没有答案时</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="81"/>
        <source>Say so plainly, or answer from the model&apos;s own knowledge, clearly marked.</source>
        <translation>直接说明没有，或者用模型自身的知识回答并明确标注。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="82"/>
        <source>English prompt template</source>
        <translation>英文提示词模板</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="83"/>
        <source>Empty uses assets/prompts/answer_en.txt.</source>
        <translation>留空则使用 assets/prompts/answer_en.txt。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="84"/>
        <source>Chinese prompt template</source>
        <translation>中文提示词模板</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="85"/>
        <source>Empty uses assets/prompts/answer_zh.txt.</source>
        <translation>留空则使用 assets/prompts/answer_zh.txt。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="86"/>
        <source>Prompt budget (tokens)</source>
        <translation>提示词预算（token）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="87"/>
        <source>Most tokens of instructions, passages, history and question sent to the model; passages beyond it are left out (and listed). On 2 cores a 1.5B model reads about 40 tokens/s, so each 400 tokens adds about 10 s before the first word.</source>
        <translation>发送给模型的指令、段落、历史和问题最多占用的 token 数；超出的段落不发送（但会列出）。在 2 核 CPU 上，1.5B 模型每秒约读 40 个 token，每多 400 个 token，第一个字就要多等约 10 秒。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="88"/>
        <source>Say &quot;not found&quot; when the passages miss the question&apos;s subject</source>
        <translation>段落未提到问题的主题时回答“没有相关内容”</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="89"/>
        <source>When most of the distinctive words of the question occur in none of the passages found, answer that the documents do not contain it and name the missing words, without asking the model. Turn off for a strong model that handles paraphrased questions.</source>
        <translation>问题中的关键词大多不出现在任何找到的段落里时，直接回答文档中没有相关内容并列出缺少的词，不再询问模型。使用能理解同义改写的较强模型时可以关闭。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="90"/>
        <source>History turns kept</source>
        <translation>保留的历史轮数</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="91"/>
        <source>Earlier question/answer pairs kept in the conversation, within the token budget.</source>
        <translation>在 token 预算内，对话中保留的早先问答轮数。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="92"/>
        <source>Folders</source>
        <translation>文件夹同步</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="93"/>
        <source>Folders that knowledge bases follow.</source>
        <translation>知识库同步的文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="94"/>
        <source>Watch followed folders</source>
        <translation>监视同步的文件夹</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="95"/>
        <source>Apply changes in followed folders while the app runs; off, they are applied only on &apos;Sync now&apos; or localkb sync.</source>
        <translation>应用运行时自动应用同步文件夹中的更改；关闭后仅在“立即同步”或 localkb sync 时应用。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="96"/>
        <source>Quiet time before reading (s)</source>
        <translation>读取前的静默时间（秒）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="97"/>
        <source>A changed file is read once it has been left alone this long, so a file being saved is read once, complete.</source>
        <translation>文件在这段时间内没有再变化才会被读取，因此正在保存的文件只会在完整后读取一次。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="98"/>
        <source>Full rescan every (minutes)</source>
        <translation>完整重新扫描间隔（分钟）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="99"/>
        <source>Followed folders are compared with the index this often, for network drives and changes the watcher missed.</source>
        <translation>按此间隔将同步文件夹与索引比对，用于网络驱动器和监视遗漏的更改。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="100"/>
        <source>Sharing</source>
        <translation>共享</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="101"/>
        <source>Where knowledge bases keep their vectors: on this computer, or on a team&apos;s Chroma server.</source>
        <translation>知识库的向量存放位置：本机，或团队的 Chroma 服务器。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="102"/>
        <source>Vector store</source>
        <translation>向量存储</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="103"/>
        <source>&apos;embedded&apos; keeps everything on this computer; &apos;server&apos; shares knowledge bases with a team through a Chroma server.</source>
        <translation>“embedded”把一切保存在本机；“server”通过 Chroma 服务器与团队共享知识库。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="104"/>
        <source>Server host</source>
        <translation>服务器主机</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="105"/>
        <source>Name or address of the Chroma server.</source>
        <translation>Chroma 服务器的名称或地址。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="106"/>
        <source>Server port</source>
        <translation>服务器端口</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="107"/>
        <source>Port of the Chroma server (or of its token gate).</source>
        <translation>Chroma 服务器（或其令牌网关）的端口。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="108"/>
        <source>Access token</source>
        <translation>访问令牌</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="109"/>
        <source>Sent as &apos;Authorization: Bearer ...&apos;; ask whoever runs the server.</source>
        <translation>以“Authorization: Bearer ...”发送；请向服务器管理员索取。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="110"/>
        <source>Use TLS (https)</source>
        <translation>使用 TLS（https）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="111"/>
        <source>Connect with https; the server must be started with a certificate.</source>
        <translation>使用 https 连接；服务器必须配置证书启动。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="112"/>
        <source>CA certificate file</source>
        <translation>CA 证书文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="113"/>
        <source>PEM file that verifies the server&apos;s certificate; empty uses the system&apos;s certificates.</source>
        <translation>用于验证服务器证书的 PEM 文件；留空则使用系统证书。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="114"/>
        <source>This computer writes shared knowledge bases</source>
        <translation>本机负责写入共享知识库</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="115"/>
        <source>One computer adds, changes and removes the documents of shared knowledge bases; the others read them and see each change once it is complete.</source>
        <translation>只有一台电脑添加、修改和删除共享知识库的文档；其他电脑只读，并在每次更改完整提交后看到它。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="116"/>
        <source>Interface</source>
        <translation>界面</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="117"/>
        <source>The desktop window.</source>
        <translation>桌面窗口。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="118"/>
        <source>Interface language</source>
        <translation>界面语言</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="119"/>
        <source>Follows the system locale unless set.</source>
        <translation>未设置时跟随系统语言。</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="120"/>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="121"/>
        <source>English</source>
        <translation>English</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="122"/>
        <source>中文（简体）</source>
        <translation>中文（简体）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="123"/>
        <source>Say it is not in the documents</source>
        <translation>说明文档中没有</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="124"/>
        <source>Answer from the model’s own knowledge, marked as such</source>
        <translation>用模型自身的知识回答，并加以标注</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="125"/>
        <source>auto (from the model file)</source>
        <translation>auto（来自模型文件）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="126"/>
        <source>On this computer</source>
        <translation>本机</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="127"/>
        <source>On a Chroma server</source>
        <translation>Chroma 服务器</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="128"/>
        <source>(built-in default)</source>
        <translation>（内置默认）</translation>
    </message>
    <message>
        <location filename="../../app/gui/schema_strings.py" line="129"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../app/gui/settings_dialog.py" line="151"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../app/gui/settings_dialog.py" line="203"/>
        <source>%1: %2</source>
        <translation>%1：%2</translation>
    </message>
    <message>
        <location filename="../../app/gui/settings_dialog.py" line="210"/>
        <source>Cannot save settings: %1</source>
        <translation>无法保存设置：%1</translation>
    </message>
</context>
<context>
    <name>SourceView</name>
    <message>
        <location filename="../../app/gui/source_view.py" line="50"/>
        <source>Click a citation such as [1] to see where an answer comes from.</source>
        <translation>点击 [1] 这样的引用，查看回答的出处。</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="54"/>
        <source>Previous page</source>
        <translation>上一页</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="57"/>
        <source>Next page</source>
        <translation>下一页</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="59"/>
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="60"/>
        <source>Open the document in its usual application</source>
        <translation>用默认程序打开此文档</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="104"/>
        <source>page %1</source>
        <translation>第 %1 页</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="114"/>
        <source>The file is no longer at %1. Move it back, or remove it from the knowledge base and add it again.</source>
        <translation>文件已不在 %1。请把它移回原处，或从知识库中移除后重新添加。</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="120"/>
        <source>Loading page…</source>
        <translation>正在加载页面…</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="126"/>
        <source>Rendering page…</source>
        <translation>正在渲染页面…</translation>
    </message>
    <message>
        <location filename="../../app/gui/source_view.py" line="156"/>
        <source>Could not show this page: %1</source>
        <translation>无法显示此页：%1</translation>
    </message>
</context>
</TS>
